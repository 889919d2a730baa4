"""The agent Dial's end is authoritative for the answer and the talk: a completed Dial (or a completed
agent leg) counts the answer, with the wait the caller really had, and the talk Twilio measured, and
puts the agent in wrap-up, whether the leg's `answered` callback came before, after or never; repeats
change nothing (CONTRACT.md, "When parts fail")."""
from __future__ import annotations

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
