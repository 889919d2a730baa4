"""Conference status callbacks drive the ACD as the agent legs' own callbacks do: an agent joining
starts the talk, leaving ends it, the conference's end ends the call. Either source may be lost on its
way (status callbacks are not retried), so each is the other's second chance; repeats, late ones and
the events of an earlier conference of the same call change nothing."""
from __future__ import annotations

from datetime import timedelta

import pytest

from acd.legs import JOIN_S


@pytest.fixture(autouse=True)
def _agents_logged_in(staffed):
    """Queues hold callers only while someone who could serve them is logged in."""


def accepted_by_chen(twilio, app, clock):
    """A sales caller chen accepted, sent to their conference's TwiML: (call, conference name)."""
    rt = app.extensions["callrouter"]
    call = twilio.call(from_="+12125550111").dial().press("3")
    offers = rt.router.set_status("chen", "available", clock.now)[2]
    assert rt.router.answer(offers[0].reservation_id, "accept", clock.now, "chen")[0]
    call.request(f"/voice/connect?rid={offers[0].reservation_id}")
    return call, call.doc.find("Dial").find("Conference").text


def connected_to_chen(twilio, app, clock, legs_dialed):
    """The same caller in the conference, so chen is dialed: (call, conference name, chen's leg)."""
    call, room = accepted_by_chen(twilio, app, clock)
    call.wait_in_conference()
    return call, room, legs_dialed[-1]["leg"]


def event(twilio, call, room: str, what: str, leg: str | None = None, label: str | None = None):
    params = {"ConferenceSid": "CF" + "a" * 32, "FriendlyName": room, "StatusCallbackEvent": what,
              "AccountSid": "AC" + "1" * 32, "SequenceNumber": "1"}
    if leg:
        params.update(CallSid=leg, ParticipantLabel=label or "", Hold="false", Muted="false")
    answer = twilio.post(f"/voice/conference?call={call.sid}", params)
    assert answer.status_code == 204, answer.get_data(as_text=True)


def leg_status(twilio, call, leg: str, status: str, rid_url: str):
    answer = twilio.post(rid_url, {"CallSid": leg, "CallStatus": status, "AccountSid": "AC" + "1" * 32,
                                   "CallDuration": "12"})
    assert answer.status_code == 204


def acd_of(app, call) -> str:
    return app.extensions["callrouter"].calls.load(call.sid)["acd"]


def status_of(app, agent: str) -> str:
    return app.extensions["callrouter"].agents.get(agent)["status"]


def test_an_agent_joining_and_leaving_the_conference_starts_and_ends_the_talk(twilio, app, clock, legs_dialed):
    call, room, leg = connected_to_chen(twilio, app, clock, legs_dialed)
    assert acd_of(app, call) == "connecting"                      # their phone rings; no leg callback came
    event(twilio, call, room, "participant-join", leg, "agent-chen")
    assert acd_of(app, call) == "connected"
    assert app.extensions["callrouter"].calls.load(call.sid)["outcome"] == "answered"
    event(twilio, call, room, "participant-leave", leg, "agent-chen")
    assert status_of(app, "chen") == "wrapup"
    # the leg's own callbacks, late, and the conference's end change nothing now
    leg_status(twilio, call, leg, "completed", legs_dialed[-1]["status_url"])
    event(twilio, call, room, "conference-end")
    state = app.extensions["callrouter"].calls.load(call.sid)
    assert state["acd"] == "ended" and status_of(app, "chen") == "wrapup"


def test_the_conference_end_ends_a_talk_whose_leave_was_lost(twilio, app, clock, legs_dialed):
    call, room, leg = connected_to_chen(twilio, app, clock, legs_dialed)
    leg_status(twilio, call, leg, "in-progress", legs_dialed[-1]["status_url"])
    assert acd_of(app, call) == "connected"
    event(twilio, call, room, "participant-join", leg, "agent-chen")          # a repeat of the answer
    event(twilio, call, room, "conference-end")
    assert status_of(app, "chen") == "wrapup"
    assert app.extensions["callrouter"].calls.load(call.sid)["acd"] == "ended"


def test_a_conference_that_ends_while_the_agent_rings_is_no_talk(twilio, app, clock, legs_dialed):
    call, room, leg = connected_to_chen(twilio, app, clock, legs_dialed)
    event(twilio, call, room, "conference-end")          # the caller left; their status callback is late
    assert acd_of(app, call) == "connecting"
    call.hangup()
    leg_status(twilio, call, leg, "canceled", legs_dialed[-1]["status_url"])
    state = app.extensions["callrouter"].calls.load(call.sid)
    assert state["outcome"] == "abandoned" and status_of(app, "chen") == "available"


def test_events_of_another_room_or_leg_change_nothing(twilio, app, clock, legs_dialed):
    call, room, leg = connected_to_chen(twilio, app, clock, legs_dialed)
    event(twilio, call, room[:-1] + "x", "participant-join", leg, "agent-chen")  # an earlier conference
    event(twilio, call, room, "participant-join", "CA" + "9" * 32, "agent-chen")  # not chen's leg
    event(twilio, call, room, "participant-join", leg, "agent-bob")              # not the call's agent
    event(twilio, call, room, "participant-join", leg, "supervisor-admin")
    assert acd_of(app, call) == "connecting"


def test_the_caller_joining_dials_the_agent_when_the_wait_document_is_not_asked_for(twilio, app, clock,
                                                                                   legs_dialed):
    call, room = accepted_by_chen(twilio, app, clock)
    assert legs_dialed == []
    event(twilio, call, room, "participant-join", call.sid)          # the caller is in; no label
    event(twilio, call, room, "participant-join", call.sid)          # a repeat
    assert [leg["to"] for leg in legs_dialed] == ["client:chen"]



def overdue(app, clock, monkeypatch, caller_status: str) -> list[str]:
    """JOIN_S later, with Twilio saying the caller's call is `caller_status`: the calls asked about."""
    acd = app.extensions["callrouter"].acd
    asked = []

    def status(call_sid):
        asked.append(call_sid)
        return caller_status
    monkeypatch.setattr(acd.line, "status", status)
    acd.tick(clock.now + timedelta(seconds=JOIN_S + 1))
    return asked


def test_with_both_signs_of_the_caller_lost_the_agent_is_dialed_once_twilio_says_the_caller_is_on(
        twilio, app, clock, legs_dialed, monkeypatch):
    call, _ = accepted_by_chen(twilio, app, clock)         # no wait document asked for, no join callback
    assert overdue(app, clock, monkeypatch, "in-progress") == [call.sid]
    assert [leg["to"] for leg in legs_dialed] == ["client:chen"]
    call.wait_in_conference()                              # the wait document after all: no second dial
    assert len(legs_dialed) == 1 and acd_of(app, call) == "connecting"


def test_a_caller_whose_hang_up_was_lost_too_is_let_go_and_the_agent_freed(twilio, app, clock, legs_dialed,
                                                                           monkeypatch):
    call, _ = accepted_by_chen(twilio, app, clock)
    overdue(app, clock, monkeypatch, "completed")
    assert legs_dialed == []
    assert app.extensions["callrouter"].calls.load(call.sid)["outcome"] == "abandoned"
    assert status_of(app, "chen") == "available"


def test_a_caller_seen_in_time_is_not_looked_for(twilio, app, clock, legs_dialed, monkeypatch):
    call, _ = accepted_by_chen(twilio, app, clock)
    call.wait_in_conference()
    assert overdue(app, clock, monkeypatch, "in-progress") == []
    assert len(legs_dialed) == 1
