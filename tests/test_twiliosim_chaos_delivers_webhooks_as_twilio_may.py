"""The simulator's chaos mode (twiliosim/chaos.py): status callbacks that come late, out of order,
twice or never; action requests that leave late, repeat, cross the hang-up; TwiML answers given up
as too slow (the fallback URL next, although the service acted)."""
from __future__ import annotations

import pytest

from tests import test_twiliosim_verbs_fixtures as shared
from tests.test_twiliosim_verbs_fixtures import ACCOUNT, CALLER, JOIN, NUMBER, TOKEN, R, run
from twiliosim import CallerScript, Press, RecordMessage, Simulator
from twiliosim.chaos import Chaos

server = shared.server
EVENTS = ("initiated", "ringing", "answered", "completed")


def chaotic(**chaos) -> Simulator:
    return Simulator(ACCOUNT, TOKEN, time_scale=0.02, chaos=Chaos(**chaos))


def finish(sim: Simulator) -> None:
    assert sim.wait_deliveries(5), "late webhooks still in flight"


def test_no_chaos_is_the_plain_simulator():
    assert Simulator(ACCOUNT, TOKEN, chaos=Chaos()).chaos is None
    assert Simulator(ACCOUNT, TOKEN, chaos=Chaos.default()).chaos is not None
    with pytest.raises(ValueError, match="probability"):
        Chaos(drop=1.5)


def test_dropped_status_callbacks_never_reach_the_service(server):
    sim = chaotic(drop=1.0)
    try:
        call = run(sim, server, R("<Say>hi</Say>"), events=EVENTS)
        finish(sim)
        assert server.to("/status") == []
        assert [e["status"] for e in call.events("status_callback")] == ["ringing", "answered", "completed"]
        assert all(e.get("dropped") for e in call.events("status_callback"))
        assert sim.chaos.log.dropped == 3
    finally:
        sim.shutdown()


def test_repeated_requests_arrive_twice_and_the_first_answer_counts(server):
    sim = chaotic(repeat=1.0, max_delay_s=1.0)
    try:
        server.route("/menu", R('<Gather action="/chosen" numDigits="1"/>'))
        server.route("/chosen", R("<Say>you chose</Say>"))
        call = run(sim, server, path="/menu", script=CallerScript(inputs=[Press("1")]))
        finish(sim)
        assert call.said() == ["you chose"]
        chosen = server.to("/chosen")
        assert len(chosen) == 2 and chosen[0]["form"] == chosen[1]["form"]     # the same request, twice
        assert chosen[0]["form"]["Digits"] == "1"
        completed = [r for r in server.to("/status") if r["form"]["CallStatus"] == "completed"]
        assert len(completed) == 2
        assert sim.chaos.log.repeated["twiml"] >= 2 and sim.chaos.log.repeated["status"] >= 1
    finally:
        sim.shutdown()


def test_late_status_callbacks_cross_and_arrive_out_of_order(server):
    sim = chaotic(delay=1.0, max_delay_s=5.0, seed=7)
    try:
        calls = [run(sim, server, R("<Say>hi</Say>"), events=EVENTS) for _ in range(6)]
        finish(sim)
        crossed = 0
        for call in calls:
            seen = [int(r["form"]["SequenceNumber"]) for r in server.to("/status") if r["form"]["CallSid"] == call.sid]
            assert sorted(seen) == [0, 1, 2]                # each once, none lost (no drop)
            crossed += seen != sorted(seen)
        assert crossed >= 1, "with delays up to 5 s some callbacks should overtake earlier ones"
        assert sim.chaos.log.delayed["status"] == 18
    finally:
        sim.shutdown()


def test_a_timed_out_answer_sends_the_caller_to_the_fallback_after_the_service_acted(server):
    sim = chaotic(timeout=1.0)
    try:
        server.route("/voice", R("<Enqueue>billing</Enqueue>"))
        server.route("/fallback", R("<Say>sorry</Say><Hangup/>"))
        call = run(sim, server, fallback="/fallback")
        assert len(server.to("/voice")) == 1                 # the service had it, and answered
        fallback = server.to("/fallback")
        assert len(fallback) == 1 and fallback[0]["form"]["ErrorCode"] == "11205"
        assert fallback[0]["form"]["ErrorUrl"] == server.url("/voice")
        assert call.said() == ["sorry"]
        assert call.events("chaos_timeout")[0]["ignored"] == ["Enqueue"]
        assert call.events("webhook_error")[0]["chaos"] is True
    finally:
        sim.shutdown()


def test_an_action_on_its_way_when_the_caller_hangs_up_arrives_after_the_hang_up(server):
    sim = chaotic(delay=1.0, max_delay_s=20.0, seed=3)
    try:
        server.route("/menu", R('<Gather action="/chosen" numDigits="1"/>'))
        server.route("/chosen", R("<Say>never heard</Say>"))
        sim.number(NUMBER, voice_url=server.url("/menu"), status_callback=server.url("/status"))
        script = CallerScript(inputs=[Press("1", after=0.1)], hangup_after=1.0)
        call = sim.dial(NUMBER, from_=CALLER, script=script)
        assert call.join(JOIN)
        finish(sim)
        assert "never heard" not in call.said()
        [late] = call.events("late_request")          # the menu's request or the Gather's action
        assert late["why"] == "after_hangup" and late["http"] == 200
        path = late["url"].removeprefix(server.base)
        assert [r["form"]["CallSid"] for r in server.to(path)] == [call.sid]
        assert sim.chaos.log.after_hangup == 1
    finally:
        sim.shutdown()


def test_an_action_posted_after_a_hang_up_goes_out_on_its_own(server):
    sim = chaotic(delay=1.0, max_delay_s=0.5)
    try:
        server.route("/voice", R('<Record action="/recorded" maxLength="30"/>'))
        script = CallerScript(message=RecordMessage("call me", duration=1.0, hangup=True))
        run(sim, server, script=script)
        finish(sim)
        assert len(server.to("/recorded")) == 1
    finally:
        sim.shutdown()
