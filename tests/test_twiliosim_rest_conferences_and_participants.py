"""The REST stand-in's Conferences and Participants (twiliosim/rest/conferences.py) driven by the
official `twilio` client: participants dialed into a conference named in the path, listed,
fetched, held, muted, set to coach, removed; the conference listed, filtered and ended; errors
as Twilio answers them; and every reply against Twilio's OpenAPI description (its fields, none
more, and their JSON types), as test_twiliosim_rest_json_matches_twilio_openapi checks the others."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from tests import test_twiliosim_rest_fixtures as shared
from tests.test_twiliosim_rest_fixtures import ACCOUNT_SID, AUTH_TOKEN, FROM, RFC2822, api, wait_until
from twiliosim.conferences import conferences

# The shared fixtures, found by pytest under these names in this module.
sim, server, client, twiml = shared.sim, shared.server, shared.client, shared.twiml

OAI = Path(__file__).resolve().parent.parent.parent / "shared" / "twilio-oai" / "twilio_api_v2010.json"
TYPES = {"string": str, "integer": int, "boolean": bool, "object": dict}


@pytest.fixture(scope="module")
def schemas():
    if not OAI.exists():
        pytest.skip(f"{OAI} is not here")
    return json.loads(OAI.read_text())["components"]["schemas"]


def matches(schemas, name: str, body: dict) -> None:
    """`body` has exactly the fields of schema `name`, each of its type (or null), enums within the enum."""
    properties = schemas[name]["properties"]
    assert set(body) == set(properties), (name, set(body) ^ set(properties))
    for field, spec in properties.items():
        if "$ref" in spec:
            enum = schemas[spec["$ref"].rsplit("/", 1)[1]]["enum"]
            assert body[field] is None or body[field] in enum, (name, field, body[field])
        elif body[field] is not None:
            assert isinstance(body[field], TYPES[spec["type"]]), (name, field, body[field])


def get(server, path: str, **params) -> dict:
    reply = requests.get(api(server, path), params=params, auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)
    assert reply.status_code == 200, reply.text
    return reply.json()


def post(server, path: str, **data) -> requests.Response:
    return requests.post(api(server, path), data=data, auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)


def test_participants_are_dialed_in_held_muted_coached_and_removed(sim, server, client, twiml, schemas):
    sim.phone("+14155550101", answer_after=0.2, talk_for=None)
    sim.softphone("alice", answer_after=0.2, talk_for=None)
    sim.softphone("sup", answer_after=0.2, talk_for=None)
    caller = client.conferences("call-1").participants.create(
        from_=FROM, to="+14155550101", end_conference_on_exit=True, label="customer",
        conference_status_callback=f"{twiml.url}/status-conf", conference_status_callback_event=["join", "hold"])
    assert caller.call_sid.startswith("CA") and caller.status in ("queued", "ringing")
    assert caller.end_conference_on_exit is True and caller.label == "customer" and caller.queue_time == "0"
    room = conferences(sim).live_named("call-1")
    assert caller.conference_sid == room.sid
    agent = client.conferences(room.sid).participants.create(from_=FROM, to="client:alice", beep="onEnter")
    wait_until(lambda: len(room.connected()) == 2, what="both to join")
    assert room.status == "in-progress"

    (listed,) = client.conferences.list(friendly_name="call-1")
    assert (listed.sid, listed.status, listed.region) == (room.sid, "in-progress", "us1")
    assert client.conferences.list(status="completed") == [] and client.conferences.list(friendly_name="x") == []
    assert [c.sid for c in client.conferences.list(date_created=listed.date_created.date())] == [room.sid]
    body = get(server, f"Conferences/{room.sid}.json")
    matches(schemas, "api.v2010.account.conference", body)
    assert RFC2822.match(body["date_created"]) and body["subresource_uris"]["participants"].endswith(
        f"/Conferences/{room.sid}/Participants.json")

    assert sorted(p.call_sid for p in client.conferences(room.sid).participants.list()) == sorted(
        [caller.call_sid, agent.call_sid])
    fetched = client.conferences(room.sid).participants(caller.call_sid).fetch()
    assert (fetched.status, fetched.muted, fetched.hold, fetched.label) == ("connected", False, False, "customer")
    assert client.conferences(room.sid).participants("customer").fetch().call_sid == caller.call_sid
    matches(schemas, "api.v2010.account.conference.participant",
            get(server, f"Conferences/{room.sid}/Participants/{caller.call_sid}.json"))

    # Hold the caller: hold music for them, and the agent no longer hears them.
    held = client.conferences(room.sid).participants(caller.call_sid).update(
        hold=True, hold_url="http://com.twilio.music.classical/ClockworkWaltz.mp3")
    assert held.hold is True
    assert room.what_hears(caller.call_sid) == "hold-music" and room.who_hears(caller.call_sid) == set()
    wait_until(lambda: sim.calls[caller.call_sid].events("play"), what="the hold music")
    assert sim.calls[caller.call_sid].events("play")[-1]["url"].endswith("ClockworkWaltz.mp3")
    assert [p.call_sid for p in client.conferences(room.sid).participants.list(hold=True)] == [caller.call_sid]
    client.conferences(room.sid).participants(caller.call_sid).update(hold=False)
    assert room.who_hears(caller.call_sid) == {agent.call_sid}

    # A supervisor coaching the agent, then muted, then removed.
    sup = client.conferences(room.sid).participants.create(from_=FROM, to="client:sup", coaching=True,
                                                           call_sid_to_coach=agent.call_sid, beep="false")
    wait_until(lambda: len(room.connected()) == 3, what="the supervisor to join")
    assert room.who_hears(sup.call_sid) == {agent.call_sid}
    coaching = client.conferences(room.sid).participants.list(coaching=True)
    assert [(p.call_sid, p.call_sid_to_coach) for p in coaching] == [(sup.call_sid, agent.call_sid)]
    client.conferences(room.sid).participants(sup.call_sid).update(coaching=False)       # barge
    assert room.who_hears(sup.call_sid) == {agent.call_sid, caller.call_sid}
    muted = client.conferences(room.sid).participants(sup.call_sid).update(muted=True)
    assert muted.muted is True and room.who_hears(sup.call_sid) == set()
    assert [p.call_sid for p in client.conferences(room.sid).participants.list(muted=True)] == [sup.call_sid]
    assert client.conferences(room.sid).participants(sup.call_sid).delete() is True
    assert sim.calls[sup.call_sid].join(3) and room.status == "in-progress"
    with pytest.raises(TwilioRestException) as caught:
        client.conferences(room.sid).participants(sup.call_sid).fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)

    # The conference status callback asked for join and hold only.
    callbacks = wait_until(lambda: len(twiml.got("status-conf")) >= 5 and twiml.got("status-conf"),
                           what="the conference callbacks")
    assert [c["StatusCallbackEvent"] for c in sorted(callbacks, key=lambda c: int(c["SequenceNumber"]))] == [
        "participant-join", "participant-join", "participant-hold", "participant-unhold", "participant-join"]

    # Ending the conference over REST: every call leaves (and, with nothing after its Dial, ends).
    ended = client.conferences(room.sid).update(status="completed")
    assert (ended.status, ended.reason_conference_ended) == ("completed", "conference-ended-via-api")
    assert sim.calls[caller.call_sid].join(3) and sim.calls[agent.call_sid].join(3)
    assert client.conferences(room.sid).participants.list() == []
    assert room.heard(agent.call_sid, sup.call_sid) and room.heard(caller.call_sid, sup.call_sid)     # the barge


def test_errors_answer_as_twilio_does(sim, server, client):
    unknown = "CF" + "0" * 32
    for call in (lambda: client.conferences(unknown).fetch(),
                 lambda: client.conferences(unknown).participants("CA" + "0" * 32).fetch()):
        with pytest.raises(TwilioRestException) as caught:
            call()
        assert (caught.value.status, caught.value.code) == (404, 20404)
    reply = requests.get(api(server, f"Conferences/{unknown}/Participants.json"), auth=(ACCOUNT_SID, AUTH_TOKEN),
                         timeout=5)
    assert (reply.status_code, reply.json()["code"]) == (404, 20404)
    room = conferences(sim).room_named("empty-room")
    for data, code in (({"From": FROM}, 21201), ({"To": "+14155550101"}, 21213),
                       ({"From": FROM, "To": "not a number"}, 21211),
                       ({"From": FROM, "To": "+14155550101", "Muted": "maybe"}, 20001),
                       ({"From": FROM, "To": "+14155550101", "Beep": "loud"}, 20001),
                       ({"From": FROM, "To": "+14155550101", "Coaching": "true"}, 20001),
                       ({"From": FROM, "To": "+14155550101", "WaitUrl": "relative/path"}, 20001)):
        reply = post(server, f"Conferences/{room.sid}/Participants.json", **data)
        assert (reply.status_code, reply.json()["code"]) == (400, code), data
    reply = post(server, f"Conferences/{room.sid}.json", Status="init")
    assert (reply.status_code, reply.json()["code"]) == (400, 20001)
    reply = requests.get(api(server, "Conferences.json"), params={"Status": "over"}, auth=(ACCOUNT_SID, AUTH_TOKEN),
                         timeout=5)
    assert (reply.status_code, reply.json()["code"]) == (400, 20001)
    reply = requests.get(api(server, f"Conferences/{room.sid}/Participants.json"), params={"Hold": "yes"},
                         auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)
    assert (reply.status_code, reply.json()["code"]) == (400, 20001)
    listing = get(server, "Conferences.json", PageSize=1)
    assert set(listing) == {"conferences", "end", "first_page_uri", "next_page_uri", "page", "page_size",
                            "previous_page_uri", "start", "uri"}


def test_a_participant_that_does_not_answer_leaves_the_list(sim, server, client):
    sim.phone("+14155550199", answer_after=None)
    created = client.conferences("nobody-home").participants.create(from_=FROM, to="+14155550199", timeout=5)
    room = conferences(sim).live_named("nobody-home")
    assert [p.call_sid for p in client.conferences(room.sid).participants.list()] == [created.call_sid]
    wait_until(lambda: sim.calls[created.call_sid].ended, what="the call to ring out")
    wait_until(lambda: client.conferences(room.sid).participants.list() == [], what="the participant to go")
    assert sim.calls[created.call_sid].status == "no-answer"
