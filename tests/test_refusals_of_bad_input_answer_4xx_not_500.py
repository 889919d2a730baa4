"""Inputs the security review found answering 500 (issue 14), each refused as it should be: a /voice
webhook answers TwiML that goes on with the call, an /api request answers 4xx with a JSON "error".

On the demo config, a real Redis and SQLite: the agents are logged in on break (`staffed`), so the
menus queue callers and nobody is offered one unless a test says so.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from urllib.parse import quote

import pytest

from ivr.calls import Params

ADMIN = {"Authorization": "Bearer test-admin-token"}
DEEP = "[" * 100_000
FAR_DAYS = ("9999-12-31", "0001-01-01")
UNICODE_DIGITS = ("²", "٣", "３")          # superscript two, Arabic-Indic three, fullwidth three


@pytest.fixture(autouse=True)
def _agents_logged_in(staffed):
    """Queues hold callers only while someone who could serve them is logged in."""


@pytest.fixture
def client(staffed):
    return staffed.test_client()


@pytest.fixture
def rt(staffed):
    return staffed.extensions["callrouter"]


def token_of(client, agent_id: str) -> dict:
    response = client.post(f"/api/agents/{agent_id}/credentials", headers=ADMIN)
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def refused(response, status: int) -> str:
    """The JSON error of a refusal with `status`."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
    assert response.is_json, response.get_data(as_text=True)[:300]
    error = response.get_json()["error"]
    assert isinstance(error, str) and error
    return error


def twiml(response) -> ET.Element:
    assert response.status_code == 200, (response.status_code, response.get_data(as_text=True)[:300])
    assert response.mimetype in ("text/xml", "application/xml")
    return ET.fromstring(response.get_data())


def says(doc: ET.Element) -> list[str]:
    return [el.text or "" for el in doc.iter("Say")]


def queued_for_billing(twilio):
    call = twilio.call(from_="+14155550123").dial().press("1")
    assert call.doc.find("Enqueue").text == "billing"
    return call


def in_wrapup_with_alice(twilio, rt, clock):
    """A billing caller offered to alice, accepted, talked and hung up: alice wraps the call up."""
    call = queued_for_billing(twilio)
    rt.acd.change_status("alice", "available", clock.now)
    rid = rt.agents.get("alice")["offer"]
    assert rt.router.answer(rid, "accept", clock.now, "alice")[0]
    rt.connections.agent_leg(call.sid, "alice", rid, None, "in-progress")
    rt.connections.agent_dialed(Params(call.sid, call.from_, call.to), "completed")
    assert rt.agents.get("alice")["status"] == "wrapup"
    return call


# -- /voice: digits that are not ASCII ---------------------------------------------------------------

@pytest.mark.parametrize("digits", UNICODE_DIGITS)
def test_a_superscript_or_foreign_digit_pressed_at_the_menu_hears_the_menu_again(twilio, digits):
    call = twilio.call().dial().press(digits)
    assert call.says[0] == "Sorry, I didn't get that."
    assert call.doc.find("Gather") is not None


@pytest.mark.parametrize("tries", UNICODE_DIGITS)
def test_a_unicode_digit_as_the_menus_try_count_hears_the_menu_again(twilio, tries):
    call = twilio.call().dial()
    action = call.doc.find("Gather").get("action")
    assert "node=menu" in action
    call.request(f"/voice/gather?node=menu&try={quote(tries)}", Digits="7")
    assert call.says[0] == "Sorry, I didn't get that."
    assert call.doc.find("Gather") is not None


@pytest.mark.parametrize("tries", UNICODE_DIGITS)
def test_a_unicode_digit_as_the_surveys_try_count_is_answered_with_twiml(twilio, tries):
    call = twilio.call().dial()
    doc = twiml(twilio.post(f"/voice/survey?try={quote(tries)}", call.params(Digits="²")))
    assert doc.tag == "Response"


@pytest.mark.parametrize("position", UNICODE_DIGITS)
def test_a_unicode_queue_position_on_hold_keeps_the_caller_holding(twilio, position):
    call = twilio.call().dial().press("1")
    doc = call.hold(position)   # QueuePosition as Twilio would never send it
    assert doc.find("Play") is not None or doc.find("Say") is not None
    assert "Hangup" not in [el.tag for el in doc]


@pytest.mark.parametrize("duration", UNICODE_DIGITS)
def test_a_unicode_recording_duration_thanks_the_caller_and_keeps_no_duration(twilio, app, clock, duration):
    clock.now = datetime(2026, 11, 22, 15, 0, tzinfo=timezone.utc)        # a Sunday: voicemail
    call = twilio.call(to="+15005550007").dial()
    call.recorded(duration=duration)
    assert call.says == ["Gracias. Adiós."]
    state = app.extensions["callrouter"].calls.load(call.sid)
    assert "recording_duration_s" not in state


@pytest.mark.parametrize("duration", UNICODE_DIGITS)
def test_a_unicode_dial_duration_from_the_agents_leg_is_answered_with_twiml(twilio, rt, clock, duration):
    call = queued_for_billing(twilio)
    rt.acd.change_status("alice", "available", clock.now)
    rt.router.answer(rt.agents.get("alice")["offer"], "accept", clock.now, "alice")
    doc = twiml(twilio.post("/voice/agent-dialed", call.params(DialCallStatus="completed",
                                                                DialCallDuration=duration)))
    assert doc.find("Hangup") is not None or doc.find("Gather") is not None


# -- /api: bodies that are not one JSON object ------------------------------------------------------------

def test_json_nested_100000_deep_on_creating_an_agent_answers_400(client):
    refused(client.post("/api/agents", data=DEEP, content_type="application/json", headers=ADMIN), 400)


def test_json_nested_100000_deep_on_changing_an_agent_answers_400(client):
    refused(client.patch("/api/agents/alice", data=DEEP, content_type="application/json", headers=ADMIN), 400)


def test_json_nested_100000_deep_on_an_agents_status_answers_400(client):
    refused(client.post("/api/agents/alice/status", data=DEEP, content_type="application/json",
                        headers=ADMIN), 400)


def test_json_nested_100000_deep_on_a_wrapup_answers_400(client):
    refused(client.post("/api/calls/CA-unknown/wrapup", data=DEEP, content_type="application/json",
                        headers=ADMIN), 400)


@pytest.mark.parametrize("body", ["[1, 2]", '"text"', "42", "null", "{not json"])
def test_a_body_that_is_not_a_json_object_answers_400(client, body):
    assert "JSON object" in refused(client.patch("/api/agents/alice", data=body, content_type="application/json",
                                                 headers=ADMIN), 400)


# -- /api: days outside the years 2000 to 2100 ------------------------------------------------------------

@pytest.mark.parametrize("day", FAR_DAYS)
def test_a_report_of_a_day_far_outside_the_years_served_answers_400(client, day):
    assert "2000" in refused(client.get(f"/api/reports?from={day}&to={day}", headers=ADMIN), 400)


@pytest.mark.parametrize("day", FAR_DAYS)
def test_the_intervals_of_a_day_far_outside_the_years_served_answer_400(client, day):
    assert "2000" in refused(client.get(f"/api/stats/intervals?day={day}", headers=ADMIN), 400)


@pytest.mark.parametrize("day", FAR_DAYS)
def test_an_agents_calls_of_a_day_far_outside_the_years_served_answer_400(client, day):
    assert "2000" in refused(client.get(f"/api/agents/alice/calls?day={day}", headers=ADMIN), 400)


@pytest.mark.parametrize("day", FAR_DAYS)
def test_the_call_history_of_a_day_far_outside_the_years_served_answers_400(client, day):
    assert "2000" in refused(client.get(f"/api/calls?from={day}&to={day}", headers=ADMIN), 400)


@pytest.mark.parametrize("day", ["2026-02-30", "2026-11-23T10:00", "20261123", "٢٠٢٦-١١-٢٣", "2026-11-2"])
def test_a_malformed_day_answers_400_wherever_a_day_is_read(client, day):
    for path in (f"/api/reports?from={day}", f"/api/stats/intervals?day={day}", f"/api/agents/alice/calls?day={day}",
                 f"/api/calls?to={day}"):
        assert "YYYY-MM-DD" in refused(client.get(path, headers=ADMIN), 400), path


def test_a_report_over_more_than_a_year_answers_400(client):
    assert "at most 366 days" in refused(client.get("/api/reports?from=2000-01-01&to=2100-12-31", headers=ADMIN),
                                         400)


def test_the_first_and_last_days_served_are_answered(client):
    for path in ("/api/reports?from=2000-01-01&to=2000-01-01", "/api/reports?from=2100-12-31&to=2100-12-31",
                 "/api/stats/intervals?day=2000-01-01", "/api/agents/alice/calls?day=2100-12-31",
                 "/api/calls?from=2000-01-01&to=2100-12-31"):
        assert client.get(path, headers=ADMIN).status_code == 200, path


# -- /api: agents' fields --------------------------------------------------------------------------------

def test_patching_skills_to_null_answers_400_and_keeps_every_skill(client):
    before = client.get("/api/agents/alice", headers=ADMIN).get_json()["agent"]["skills"]
    assert "skills" in refused(client.patch("/api/agents/alice", json={"skills": None}, headers=ADMIN), 400)
    assert client.get("/api/agents/alice", headers=ADMIN).get_json()["agent"]["skills"] == before != {}


def test_an_agents_name_over_100_characters_answers_400(client):
    assert "100" in refused(client.patch("/api/agents/alice", json={"name": "a" * 101}, headers=ADMIN), 400)
    assert client.patch("/api/agents/alice", json={"name": "a" * 100}, headers=ADMIN).status_code == 200


@pytest.mark.parametrize("level", [0, 11, -1, 2.5, "5", True])
def test_a_skill_level_outside_1_to_10_answers_400(client, level):
    assert "skills" in refused(client.patch("/api/agents/alice", json={"skills": {"billing": level}},
                                            headers=ADMIN), 400)


@pytest.mark.parametrize("zone", ["America", "Mars/Base", "a" * 5000, "../etc/passwd", "Europe/Madrid\x00", 5])
def test_a_timezone_that_is_no_iana_zone_answers_400(client, zone):
    assert "time zone" in refused(client.patch("/api/agents/alice", json={"timezone": zone}, headers=ADMIN), 400)


# -- wrap-up -----------------------------------------------------------------------------------------------

def test_a_second_wrapup_of_the_same_call_answers_409_and_keeps_the_first_notes(client, twilio, rt, clock):
    call = in_wrapup_with_alice(twilio, rt, clock)
    alice = token_of(client, "alice")
    first = client.post(f"/api/calls/{call.sid}/wrapup", json={"disposition": "resolved", "notes": "refund sent"},
                        headers=alice)
    assert first.status_code == 200, first.get_json()
    second = client.post(f"/api/calls/{call.sid}/wrapup", json={"disposition": "escalated", "notes": "overwritten"},
                         headers=alice)
    refused(second, 409)
    state = rt.calls.load(call.sid)
    assert (state["disposition"], state["notes"]) == ("resolved", "refund sent")


def test_wrapup_notes_over_4000_characters_answer_400_and_leave_the_wrapup_open(client, twilio, rt, clock):
    call = in_wrapup_with_alice(twilio, rt, clock)
    alice = token_of(client, "alice")
    assert "4000" in refused(client.post(f"/api/calls/{call.sid}/wrapup", json={"notes": "n" * 4001},
                                         headers=alice), 400)
    assert rt.agents.get("alice")["status"] == "wrapup"
    ok = client.post(f"/api/calls/{call.sid}/wrapup", json={"disposition": "resolved", "notes": "n" * 4000},
                     headers=alice)
    assert ok.status_code == 200, ok.get_json()


# -- reservations ------------------------------------------------------------------------------------------

def test_reservation_ids_are_random_not_sequential(twilio, rt, clock):
    queued_for_billing(twilio)
    queued_for_billing(twilio)
    rt.acd.change_status("alice", "available", clock.now)
    rt.acd.change_status("bob", "available", clock.now)
    ids = [rt.agents.get("alice")["offer"], rt.agents.get("bob")["offer"]]
    assert ids[0] != ids[1]
    for rid in ids:
        assert re.fullmatch(r"WR[0-9a-f]{32}", rid), rid
        assert not re.fullmatch(r"WR\d+", rid), rid


def test_an_anonymous_accept_of_an_unknown_reservation_answers_401_not_409(client):
    refused(client.post("/api/reservations/WR-unknown/accept"), 401)
    refused(client.post("/api/reservations/WR1/reject"), 401)
