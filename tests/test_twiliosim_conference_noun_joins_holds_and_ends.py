"""`<Dial><Conference>` in the simulator's TwiML runner (twiliosim/conferences.py): calls dialing
one name meet in one room; a participant with startConferenceOnEnter=false waits with the waitUrl
until one with true joins; one with endConferenceOnExit=true ends the room when it leaves; the
conference status callbacks come signed, in SequenceNumber order, for the events asked; the
Dial's action is requested when the caller's stay ends, or the document goes on."""
from __future__ import annotations

from tests import test_twiliosim_verbs_fixtures as shared
from tests.test_twiliosim_rest_fixtures import wait_until
from tests.test_twiliosim_verbs_fixtures import AGENT_LINE, CALLER, JOIN, NUMBER, R, no_errors
from twiliosim import CallerScript
from twiliosim.conferences import conferences

# The shared fixtures, found by pytest under these names in this module.
server, sim = shared.server, shared.sim


def dial_in(sim, server, number: str, path: str, twiml: str, script: CallerScript):
    server.route(path, twiml)
    sim.number(number, voice_url=server.url(path), status_callback=server.url("/status"))
    return sim.dial(number, from_=CALLER, script=script)


def conference_events(server, count: int) -> list[dict]:
    found = [r["form"] for r in server.wait_for("/conf-status", count)]
    return sorted(found, key=lambda f: int(f["SequenceNumber"]))


def test_a_waiting_caller_meets_the_moderator_and_the_room_ends_when_the_moderator_leaves(sim, server):
    server.route("/wait", R("<Say>please wait for the host</Say>"))
    server.route("/after", R("<Say>the conference is over</Say>"))
    caller = dial_in(sim, server, NUMBER, "/voice", R(
        '<Dial action="/after"><Conference startConferenceOnEnter="false" waitUrl="/wait" '
        'statusCallback="/conf-status" statusCallbackEvent="start end join leave">room-1</Conference></Dial>'
        "<Say>never said: the action decides</Say>"), CallerScript())
    registry = conferences(sim)
    room = wait_until(lambda: registry.live_named("room-1"), what="the room")
    wait_until(lambda: "please wait for the host" in caller.said(), what="the wait music")
    assert room.status == "init" and room.what_hears(caller.sid) == "wait-music"
    assert server.wait_for("/wait")[0]["form"]["ConferenceSid"] == room.sid

    host = dial_in(sim, server, AGENT_LINE, "/host", R(
        '<Dial><Conference endConferenceOnExit="true" beep="false">room-1</Conference></Dial>'
        "<Say>the host goes on after the Dial</Say>"), CallerScript(hangup_after=3.0))
    wait_until(lambda: room.status == "in-progress", what="the conference to start")
    assert room.what_hears(caller.sid) == "conference"
    assert room.who_hears(host.sid) == {caller.sid} and room.who_hears(caller.sid) == {host.sid}
    assert caller.join(JOIN) and host.join(JOIN)

    assert room.status == "completed" and room.reason_ended == "participant-with-end-conference-on-exit-left"
    assert room.call_sid_ending == host.sid
    assert caller.said()[-1] == "the conference is over"
    assert "never said: the action decides" not in caller.said()
    (after,) = server.wait_for("/after")
    assert after["form"]["DialCallStatus"] == "completed" and after["form"]["ConferenceSid"] == room.sid
    assert caller.events("beep") == []        # the host joined and left with beep="false"

    events = conference_events(server, 5)
    assert [(e["StatusCallbackEvent"], e.get("CallSid")) for e in events] == [
        ("participant-join", caller.sid), ("participant-join", host.sid), ("conference-start", None),
        ("participant-leave", host.sid), ("participant-leave", caller.sid), ("conference-end", None)]
    assert [int(e["SequenceNumber"]) for e in events] == list(range(6))
    join = events[0]
    assert (join["ConferenceSid"], join["FriendlyName"], join["AccountSid"]) == (room.sid, "room-1", sim.account_sid)
    assert (join["Muted"], join["Hold"], join["Coaching"]) == ("false", "false", "false")
    assert (join["StartConferenceOnEnter"], join["EndConferenceOnExit"]) == ("false", "false")
    assert events[1]["EndConferenceOnExit"] == "true" and join["Timestamp"].endswith("+0000")
    assert events[3]["ReasonParticipantLeft"] == "participant_hung_up"
    assert events[5]["ReasonConferenceEnded"] == "participant-with-end-conference-on-exit-left"
    assert events[5]["CallSidEndingConference"] == host.sid
    no_errors(caller)
    no_errors(host)


def test_without_an_action_the_document_goes_on_and_the_last_to_leave_ends_the_room(sim, server):
    first = dial_in(sim, server, NUMBER, "/voice", R(
        '<Dial><Conference statusCallback="/conf-status">room-2</Conference></Dial><Say>back from the room</Say>'),
        CallerScript(hangup_after=4.0))
    room = wait_until(lambda: conferences(sim).live_named("room-2"), what="the room")
    wait_until(lambda: room.status == "in-progress", what="the start (startConferenceOnEnter defaults to true)")
    second = dial_in(sim, server, AGENT_LINE, "/second", R(
        '<Dial><Conference>room-2</Conference></Dial><Say>the second goes on</Say><Hangup/>'),
        CallerScript(hangup_after=2.0))
    assert second.join(JOIN) and first.join(JOIN)
    assert room.status == "completed" and room.reason_ended == "last-participant-left"
    # The default statusCallbackEvent is "start end".
    assert [e["StatusCallbackEvent"] for e in conference_events(server, 2)] == ["conference-start", "conference-end"]
    assert room.heard(first.sid, second.sid) and room.heard(second.sid, first.sid)
    # beep defaults to true: the one in the room hears the other come and go.
    assert [(b["why"], b["of"]) for b in first.events("beep")] == [("enter", second.sid), ("exit", second.sid)]
    # A name whose room ended opens a new room.
    assert conferences(sim).room_named("room-2").sid != room.sid


def test_a_redirected_participant_leaves_and_runs_its_new_twiml(sim, server):
    server.route("/elsewhere", R("<Say>you were moved</Say>"))
    stays = dial_in(sim, server, NUMBER, "/voice", R("<Dial><Conference>room-3</Conference></Dial>"),
                    CallerScript(hangup_after=6.0))
    moved = dial_in(sim, server, AGENT_LINE, "/moved", R(
        '<Dial action="/never"><Conference statusCallback="/conf-status" statusCallbackEvent="leave">room-3'
        "</Conference></Dial>"), CallerScript())
    room = wait_until(lambda: conferences(sim).live_named("room-3"), what="the room")
    wait_until(lambda: len(room.connected()) == 2, what="both in the room")
    sim.update_call(moved.sid, url=server.url("/elsewhere"))
    assert moved.join(JOIN)
    assert moved.said() == ["you were moved"] and not server.to("/never")
    (leave,) = conference_events(server, 1)
    assert leave["ReasonParticipantLeft"] == "participant_updated_via_api" and leave["CallSid"] == moved.sid
    assert room.status == "in-progress" and [p.call_sid for p in room.connected()] == [stays.sid]
    assert stays.join(JOIN) and room.status == "completed"
