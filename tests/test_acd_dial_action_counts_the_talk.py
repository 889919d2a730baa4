"""The agent Dial's end is authoritative for the answer and the talk: a completed Dial (or a completed
agent leg) counts the answer, with the wait the caller really had, and the talk Twilio measured, and
puts the agent in wrap-up, whether the leg's `answered` callback came before, after or never; repeats
change nothing (CONTRACT.md, "When parts fail")."""
from __future__ import annotations

from datetime import timedelta

import pytest

from acd.service import twilio_seconds
from tests import test_acd_routing_fixtures as shared
from tests.acd_helpers import queue

floor = shared.floor
LINE = queue("billing", skills={"billing": 1}, wrapup_s=20, service_level_s=30)


def accepted_call(floor) -> str:
    """Alice accepted a caller who waited 10 s: the call is connecting (her phone rings)."""
    floor.agent("alice", {"billing": 1})
    floor.agent("bob", {"tech": 1})
    floor.router.set_status("alice", "break", floor.now)
    sid, _ = floor.call(LINE)
    offers = floor.router.set_status("alice", "available", floor.tick(10))[2]
    floor.router.answer(offers[0].reservation_id, "accept", floor.now)
    assert floor.acd(sid) == "connecting"
    return sid


def test_a_completed_dial_counts_the_answer_and_the_talk_when_the_leg_callback_never_came(floor):
    sid = accepted_call(floor)
    assert floor.router.dial_completed(sid, 7, floor.tick(10)) is True      # answered 3 s in, talked 7 s
    assert floor.status("alice") == "wrapup"
    stats = floor.stats("billing")
    assert stats["answered"] == 1 and stats["answered_sl"] == 1 and stats["talk_s"] == 7
    assert stats["answer_wait_s"] == 13                                      # 10 s in line + 3 s ringing
    assert floor.r.hget(floor.keys.call(sid), "outcome") == b"answered"
    assert floor.router.dial_completed(sid, 7, floor.tick(1)) is False      # a repeat changes nothing
    floor.router.call_gone(sid, floor.now)                                   # the caller's final status
    after = floor.stats("billing")
    assert after["answered"] == 1 and after["talk_s"] == 7 and "abandoned" not in after


def test_reversed_leg_callbacks_end_the_talk_and_the_late_answer_changes_nothing(floor):
    sid = accepted_call(floor)
    assert floor.router.dial_completed(sid, 5, floor.tick(8)) is True       # the leg's `completed` first
    assert floor.router.connected(sid, floor.now) is False                   # then its `answered`
    assert floor.status("alice") == "wrapup" and floor.acd(sid) == "ended"
    stats = floor.stats("billing")
    assert stats["answered"] == 1 and stats["talk_s"] == 5


def test_a_dial_after_the_leg_callbacks_takes_twilios_talk_time(floor):
    sid = accepted_call(floor)
    floor.router.connected(sid, floor.tick(2))
    assert floor.router.dial_completed(sid, 30, floor.tick(31)) is True
    assert floor.stats("billing")["talk_s"] == 30 and floor.stats("billing")["answered"] == 1
    assert floor.router.talk_ended(sid, floor.now) is False


def test_without_a_duration_the_talk_runs_from_the_answer_until_now(floor):
    sid = accepted_call(floor)
    floor.router.connected(sid, floor.tick(2))
    assert floor.router.dial_completed(sid, None, floor.tick(40)) is True
    assert floor.stats("billing")["talk_s"] == 40


@pytest.mark.parametrize("sent, taken", [("7", 7.0), (" 12 ", 12.0), (None, None), ("", None), ("-3", None),
                                         ("²", None), ("1e9", None), ("9" * 40, 86_400.0)])
def test_twilio_durations_are_whole_seconds_of_at_most_a_day(sent, taken):
    assert twilio_seconds(sent) == taken


def test_a_hang_up_before_the_dial_action_with_the_answer_lost_still_counts_the_talk(floor):
    sid = accepted_call(floor)
    floor.router.call_gone(sid, floor.tick(12))          # the caller's final status overtook the Dial action
    assert floor.acd(sid) == "leaving" and floor.status("alice") == "busy"
    assert "abandoned" not in floor.stats("billing")
    floor.router.call_gone(sid, floor.tick(1))           # repeated: still waiting for the Dial's end
    assert floor.router.dial_completed(sid, 9, floor.tick(1)) is True
    stats = floor.stats("billing")
    assert stats["answered"] == 1 and stats["talk_s"] == 9 and "abandoned" not in stats
    assert floor.status("alice") == "wrapup" and floor.acd(sid) == "ended"
    assert floor.r.zscore(floor.keys.timers(), f"leaving:{sid}") is None


def test_a_hang_up_while_the_agent_phone_rang_is_abandoned_once_the_dial_says_so(floor):
    sid = accepted_call(floor)
    floor.router.call_gone(sid, floor.tick(2))
    back_in_line, _ = floor.router.dial_failed(sid, floor.tick(1))          # DialCallStatus=canceled
    assert back_in_line is False and floor.acd(sid) == "ended"
    stats = floor.stats("billing")
    assert stats["abandoned"] == 1 and "answered" not in stats
    assert floor.status("alice") == "available" and floor.r.hget(floor.keys.agent("alice"), "misses") is None


def test_when_no_dial_end_ever_comes_the_leaving_timer_abandons_the_call(staffed, twilio, clock):
    rt = staffed.extensions["callrouter"]
    rt.acd.set_status("alice", "available", clock.now)
    call = twilio.call(from_="+12125550123").dial().press("1")
    assert rt.router.answer(rt.agents.get("alice")["offer"], "accept", clock.now, "alice")[0]
    call.hangup()                                          # the caller's final status; no Dial action follows
    assert rt.calls.load(call.sid)["acd"] == "leaving"
    rt.acd.tick(clock.now + timedelta(seconds=5))          # not yet: the Dial action may still come
    assert rt.calls.load(call.sid)["acd"] == "leaving" and rt.agents.get("alice")["status"] == "busy"
    rt.acd.tick(clock.now + timedelta(seconds=11))         # the worker's clock: the `leaving:` timer is due
    assert rt.calls.load(call.sid)["acd"] == "ended" and rt.calls.load(call.sid)["outcome"] == "abandoned"
    assert rt.agents.get("alice")["status"] == "available"
