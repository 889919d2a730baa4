"""The REST stand-in's Calls list filters and pages as `GET Calls.json` is described in
twilio_api_v2010.json (Status checked against Twilio's call statuses, the StartTime/EndTime
date filters, PageToken paging the twilio client follows), deletes ended call records as
`DELETE Calls/{Sid}.json` does, and answers a method it does not serve with 405 and Allow."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException

from tests import test_twiliosim_rest_fixtures as shared
from tests.test_twiliosim_rest_fixtures import ACCOUNT_SID, AUTH_TOKEN, FROM, HI, LONG, api, ended, wait_until

sim, server, client, twiml = shared.sim, shared.server, shared.client, shared.twiml
AUTH = (ACCOUNT_SID, AUTH_TOKEN)
TWILIO_STATUSES = ("queued", "ringing", "in-progress", "canceled", "completed", "failed", "busy", "no-answer")


def live_calls(sim, client, count: int) -> list[str]:
    """`count` answered calls that stay in progress, oldest first."""
    sids = []
    for i in range(count):
        number = f"+1415555{i:04d}"
        sim.phone(number, answer_after=0.02)
        sids.append(client.calls.create(to=number, from_=FROM, twiml=LONG).sid)
    for sid in sids:
        wait_until(lambda sid=sid: sim.calls[sid].status == "in-progress", what=f"{sid} to be answered")
    return sids


def finished_call(sim, client, number: str = "+14155559999") -> str:
    sim.phone(number, answer_after=0.02)
    sid = client.calls.create(to=number, from_=FROM, twiml=HI).sid
    assert ended(sim, sid)
    return sid


def get(server, path: str, **params) -> requests.Response:
    return requests.get(api(server, path), params=params, auth=AUTH, timeout=5)


def follow(server, uri: str) -> dict:
    reply = requests.get(f"{server.url}{uri}", auth=AUTH, timeout=5)
    assert reply.status_code == 200, reply.text
    return reply.json()


# -- Status ---------------------------------------------------------------------------------------
def test_an_unknown_status_filter_answers_400_with_twilios_error_body_not_an_empty_list(server):
    reply = get(server, "Calls.json", Status="in_progress")
    assert reply.status_code == 400
    body = reply.json()
    assert set(body) == {"code", "message", "more_info", "status"}
    assert (body["code"], body["status"]) == (20001, 400)
    assert body["more_info"] == "https://www.twilio.com/docs/errors/20001" and "Status" in body["message"]


def test_every_twilio_call_status_is_a_valid_filter(server):
    for status in TWILIO_STATUSES:
        reply = get(server, "Calls.json", Status=status)
        assert reply.status_code == 200 and reply.json()["calls"] == [], status


def test_the_twilio_client_fails_its_list_on_an_unknown_status(server, client):
    # The client raises TwilioException("Unable to fetch page", response) for a failed list page.
    with pytest.raises(TwilioException) as caught:
        client.calls.list(status="ongoing")
    response = caught.value.args[1]
    assert response.status_code == 400 and json.loads(response.text)["code"] == 20001


# -- StartTime / EndTime ----------------------------------------------------------------------------
def test_start_time_filters_select_calls_by_their_utc_start_date(sim, server, client):
    done = finished_call(sim, client)
    today = client.calls(done).fetch().start_time.astimezone(timezone.utc).date()     # not "now": midnight
    yesterday, tomorrow = (today - timedelta(days=1)).isoformat(), (today + timedelta(days=1)).isoformat()
    today = today.isoformat()

    def sids(**params):
        reply = get(server, "Calls.json", **params)
        assert reply.status_code == 200, reply.text
        return [c["sid"] for c in reply.json()["calls"]]
    assert sids(StartTime=today) == [done] and sids(StartTime=yesterday) == []
    assert sids(**{"StartTime<": today}) == [done] and sids(**{"StartTime<": yesterday}) == []   # on or before
    assert sids(**{"StartTime>": today}) == [done] and sids(**{"StartTime>": tomorrow}) == []    # on or after
    assert sids(EndTime=today) == [done] and sids(EndTime=tomorrow) == []
    assert sids(**{"EndTime<": tomorrow}) == [done] and sids(**{"EndTime>": tomorrow}) == []


def test_end_time_filters_leave_out_calls_that_have_not_ended(sim, server, client):
    (live,) = live_calls(sim, client, 1)
    done = finished_call(sim, client)
    today = datetime.now(timezone.utc).date().isoformat()
    assert [c["sid"] for c in get(server, "Calls.json", EndTime=today).json()["calls"]] == [done]
    assert [c["sid"] for c in get(server, "Calls.json", StartTime=today).json()["calls"]] == [done, live]


def test_date_filters_take_the_datetimes_the_twilio_client_sends_and_reject_other_text(sim, server, client):
    done = finished_call(sim, client)
    now = datetime.now(timezone.utc)
    assert [c.sid for c in client.calls.list(start_time_after=now - timedelta(days=1))] == [done]
    assert client.calls.list(end_time_before=now - timedelta(days=1)) == []
    reply = get(server, "Calls.json", StartTime="yesterday")
    assert reply.status_code == 400 and reply.json()["code"] == 20001
    assert "next_page_uri" not in reply.json()


def test_date_filters_are_kept_in_the_paging_uris(sim, server, client):
    finished_call(sim, client, "+14155559998")
    finished_call(sim, client, "+14155559997")
    today = datetime.now(timezone.utc).date().isoformat()
    body = get(server, "Calls.json", PageSize=1, **{"StartTime>": today}).json()
    assert "StartTime%3E=" + today in body["next_page_uri"] and "StartTime%3E=" + today in body["first_page_uri"]


# -- paging ---------------------------------------------------------------------------------------
def test_next_and_previous_page_uris_carry_a_page_token_that_walks_the_list(sim, server, client):
    sids = live_calls(sim, client, 5)[::-1]                       # newest first, as listed
    first = get(server, "Calls.json", PageSize=2).json()
    assert [c["sid"] for c in first["calls"]] == sids[:2] and first["previous_page_uri"] is None
    assert "PageToken=PA" + sids[1] in first["next_page_uri"] and "Page=1" in first["next_page_uri"]
    second = follow(server, first["next_page_uri"])
    assert [c["sid"] for c in second["calls"]] == sids[2:4]
    assert (second["page"], second["page_size"], second["start"], second["end"]) == (1, 2, 2, 3)
    assert "PageToken=PB" + sids[2] in second["previous_page_uri"]
    third = follow(server, second["next_page_uri"])
    assert [c["sid"] for c in third["calls"]] == sids[4:] and third["next_page_uri"] is None
    back = follow(server, third["previous_page_uri"])
    assert [c["sid"] for c in back["calls"]] == sids[2:4] and back["page"] == 1
    assert [c["sid"] for c in follow(server, back["first_page_uri"])["calls"]] == sids[:2]


def test_a_call_created_between_pages_neither_repeats_nor_hides_one(sim, server, client):
    sids = live_calls(sim, client, 4)[::-1]
    first = get(server, "Calls.json", PageSize=2).json()
    live_calls(sim, client, 1)                                   # a newer call arrives meanwhile
    second = follow(server, first["next_page_uri"])
    assert [c["sid"] for c in first["calls"] + second["calls"]] == sids


def test_page_without_a_token_still_selects_the_slice(sim, server, client):
    sids = live_calls(sim, client, 3)[::-1]
    assert [c["sid"] for c in get(server, "Calls.json", PageSize=2, Page=1).json()["calls"]] == sids[2:]


def test_a_page_token_the_stand_in_did_not_hand_out_answers_400(server):
    for token in ("PAnope", "XY" + "CA" + "0" * 32, "P"):
        reply = get(server, "Calls.json", PageToken=token)
        assert reply.status_code == 400 and reply.json()["code"] == 20001, token


def test_the_twilio_clients_stream_of_live_calls_crosses_pages(sim, server, client):
    """What the service's reconcile does: calls.stream(status="in-progress", page_size=...)."""
    done = finished_call(sim, client)
    sids = live_calls(sim, client, 5)
    streamed = [c.sid for c in client.calls.stream(status="in-progress", page_size=2)]
    assert streamed == sids[::-1] and done not in streamed
    assert {c.sid for c in client.calls.stream(status="in-progress", page_size=1000)} == set(sids)
    assert len(client.calls.list(status="in-progress", page_size=2, limit=3)) == 3


def test_a_live_call_that_ends_between_pages_does_not_derail_the_stream(sim, server, client):
    sids = live_calls(sim, client, 5)[::-1]
    first = get(server, "Calls.json", Status="in-progress", PageSize=2).json()
    client.calls(sids[1]).update(status="completed")             # the token's own call leaves the filter
    assert ended(sim, sids[1])
    second = follow(server, first["next_page_uri"])
    assert [c["sid"] for c in second["calls"]] == sids[2:4]


# -- DELETE -----------------------------------------------------------------------------------------
def test_deleting_an_ended_call_answers_204_and_removes_its_record(sim, server, client):
    done = finished_call(sim, client)
    kept = finished_call(sim, client, "+14155559998")
    reply = requests.delete(api(server, f"Calls/{done}.json"), auth=AUTH, timeout=5)
    assert reply.status_code == 204 and reply.content == b""
    assert [c.sid for c in client.calls.list()] == [kept]
    with pytest.raises(TwilioRestException) as caught:
        client.calls(done).fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)
    again = requests.delete(api(server, f"Calls/{done}.json"), auth=AUTH, timeout=5)
    assert again.status_code == 404 and again.json()["code"] == 20404
    assert client.calls(kept).delete() is True                  # the twilio client's delete


def test_deleting_a_live_call_is_refused_with_twilios_error_and_the_call_goes_on(sim, server, client):
    (live,) = live_calls(sim, client, 1)
    with pytest.raises(TwilioRestException) as caught:
        client.calls(live).delete()
    assert (caught.value.status, caught.value.code) == (400, 20009)
    assert client.calls(live).fetch().status == "in-progress"
    assert [c.sid for c in client.calls.list()] == [live]


def test_deleting_an_unknown_call_answers_404(server):
    reply = requests.delete(api(server, "Calls/CA" + "0" * 32 + ".json"), auth=AUTH, timeout=5)
    assert reply.status_code == 404 and reply.json()["code"] == 20404


# -- 405 ---------------------------------------------------------------------------------------------
def test_a_method_the_stand_in_does_not_serve_answers_405_with_allow(sim, server, client):
    reply = requests.put(api(server, "Calls.json"), auth=AUTH, timeout=5)
    assert reply.status_code == 405
    assert (reply.json()["code"], reply.json()["status"]) == (20004, 405)
    allowed = {m.strip() for m in reply.headers["Allow"].split(",")}
    assert {"GET", "POST"} <= allowed and "DELETE" not in allowed and "PUT" not in allowed

    done = finished_call(sim, client)
    reply = requests.patch(api(server, f"Calls/{done}.json"), auth=AUTH, timeout=5)
    assert reply.status_code == 405
    assert {"GET", "POST", "DELETE"} <= {m.strip() for m in reply.headers["Allow"].split(",")}
    reply = requests.delete(api(server, "Queues.json"), auth=AUTH, timeout=5)
    assert reply.status_code == 405 and "GET" in reply.headers["Allow"]
