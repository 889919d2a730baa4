"""A menu answer may reach the service twice (Twilio retrying, a proxy repeating it) or late, long
after the call moved on: a copy gets the same answer and changes nothing. Before, a copy arriving
after the caller had talked to an agent put them in line again, and the next agent was offered a
caller who was already saying goodbye (store/lua/apply_turn.lua, acd/lua/enqueue_call.lua)."""
from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import AUTH_TOKEN
from tests.twilio import TwilioTester


def offered_today(rt, clock) -> int:
    day = clock.now.astimezone(__import__("zoneinfo").ZoneInfo(rt.cc.timezone)).strftime("%Y%m%d")
    return int(float(rt.redis.hget(rt.keys.queue_stats("billing", day), "offered") or 0))


def enqueued_steps(rt, sid) -> int:
    return sum(1 for step in rt.calls.journey(sid) if step.get("event") == "enqueued")


def test_a_repeated_menu_answer_gets_the_same_answer_and_queues_the_caller_once(staffed, twilio, clock):
    rt = staffed.extensions["callrouter"]
    menu = twilio.call(from_="+12125550123").dial()
    first = copy.copy(menu).press("1")
    again = copy.copy(menu).press("1")
    assert again.xml == first.xml and "Enqueue" in again.verbs
    assert rt.redis.zcard(rt.keys.queue("billing")) == 1
    assert offered_today(rt, clock) == 1 and enqueued_steps(rt, menu.sid) == 1


def test_a_copy_arriving_after_the_talk_puts_nobody_back_in_line(staffed, twilio, clock):
    rt = staffed.extensions["callrouter"]
    rt.acd.set_status("alice", "available", clock.now)
    menu = twilio.call(from_="+12125550123").dial()
    copy.copy(menu).press("1")
    offer = rt.agents.get("alice")["offer"]
    assert rt.router.answer(offer, "accept", clock.now, "alice")[0]
    assert rt.router.connected(menu.sid, clock.now) and rt.router.talk_ended(menu.sid, clock.now)
    rt.acd.set_status("bob", "available", clock.now)              # bob would be offered a ghost
    late = copy.copy(menu).press("1")                              # the copy, after the talk
    assert "Enqueue" in late.verbs                               # Twilio ignores it; it is the same answer
    assert rt.redis.zcard(rt.keys.queue("billing")) == 0
    assert rt.agents.get("bob")["status"] == "available" and not rt.agents.get("bob").get("offer")
    assert rt.agents.get("alice")["status"] == "wrapup"
    assert offered_today(rt, clock) == 1 and enqueued_steps(rt, menu.sid) == 1


def test_copies_of_one_answer_at_the_same_moment_queue_the_caller_once(staffed, clock):
    rt = staffed.extensions["callrouter"]
    rt.acd.set_status("alice", "available", clock.now)
    rt.acd.set_status("bob", "available", clock.now)
    menus = [TwilioTester(staffed.test_client(), AUTH_TOKEN).call(from_=f"+1212555{i:04d}").dial() for i in range(10)]

    def deliver(menu):
        mine = copy.copy(menu)
        mine.tw = TwilioTester(staffed.test_client(), AUTH_TOKEN)      # a connection of its own
        return "Enqueue" in mine.press("1").verbs

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(deliver, [m for m in menus for _ in range(4)]))
    assert offered_today(rt, clock) == 10
    assert all(enqueued_steps(rt, m.sid) == 1 for m in menus)
    offers = [rt.agents.get(a).get("offer") for a in ("alice", "bob")]
    offered_calls = [rt.redis.hget(rt.keys.offer(o), "call").decode() for o in offers if o]
    assert len(offered_calls) == len(set(offered_calls)) == 2
    assert rt.redis.zcard(rt.keys.queue("billing")) + 2 == 10


def test_an_invalid_answer_repeated_asks_again_without_counting_a_try_twice(staffed, twilio):
    menu = twilio.call(from_="+12125550123").dial()
    first = copy.copy(menu).press("7")
    again = copy.copy(menu).press("7")
    assert again.xml == first.xml and "Gather" in again.verbs
    assert again._gather().get("action").endswith("try=1")


def test_a_menu_answer_right_after_redis_forgot_its_scripts_still_queues_the_caller(staffed, twilio, clock):
    # A Redis restarted from its append-only file keeps the ACD's functions but not the IVR's scripts:
    # the turn is reloaded and runs after the hand-over, which must then be made again.
    rt = staffed.extensions["callrouter"]
    menu = twilio.call(from_="+12125550123").dial()
    rt.redis.script_flush()
    assert "Enqueue" in menu.press("1").verbs
    assert rt.redis.zscore(rt.keys.queue("billing"), menu.sid) is not None
    assert rt.calls.load(menu.sid)["acd"] == "waiting" and offered_today(rt, clock) == 1


def test_a_menu_answer_between_the_two_steps_of_a_hang_up_is_an_ivr_hang_up(staffed, twilio, clock):
    # The status callback marks the caller gone, then ends the call: a menu answer landing between
    # the two writes `queued`, the ACD refuses it; the record must not say the caller queued.
    rt = staffed.extensions["callrouter"]
    menu = twilio.call(from_="+12125550123").dial()
    rt.acd.caller_gone(menu.sid, clock.now)
    copy.copy(menu).press("1")
    rt.calls.end(menu.sid, "completed", "12", clock.now.timestamp(), clock.now.strftime("%Y%m%d"))
    state = rt.calls.load(menu.sid)
    assert state["outcome"] == "ivr_hangup" and "queue" not in state and "enqueued_at" not in state
    assert offered_today(rt, clock) == 0
