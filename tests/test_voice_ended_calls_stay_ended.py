"""Twilio delivers each callback as its own request: a menu answer can arrive after the call's final
status, or cross it. Once the hang-up is learned, nothing puts the caller back in line, offers them
or reserves an agent for them (CONTRACT.md, "When parts fail")."""
from __future__ import annotations

import copy
import random
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import AUTH_TOKEN
from tests.twilio import TwilioTester

LIVE = (b"waiting", b"offered", b"connecting", b"connected")


def ghosts(app, sids) -> list[str]:
    """Calls the ACD holds as live (in line, offered, connecting, talking) whose caller hung up."""
    rt = app.extensions["callrouter"]
    return [sid for sid in sids if rt.redis.hget(rt.keys.call(sid), "acd") in LIVE
            or rt.redis.zscore(rt.keys.queue("billing"), sid) is not None]


def test_a_menu_answer_after_the_hang_up_does_not_put_the_caller_back_in_line(staffed, twilio, clock):
    rt = staffed.extensions["callrouter"]
    rt.acd.set_status("alice", "available", clock.now)            # billing: she would be offered a ghost
    call = twilio.call(from_="+12125550123").dial()
    call.hangup()
    call.press("1")                                                # Twilio's late delivery of the menu answer
    assert ghosts(staffed, [call.sid]) == []
    assert rt.agents.get("alice")["status"] == "available"
    state = rt.calls.load(call.sid)
    assert state["status"] == "ended" and state["outcome"] == "ivr_hangup"


def test_a_hang_up_during_the_menu_then_a_requeue_or_retry_finds_the_call_ended(staffed, twilio, clock):
    rt = staffed.extensions["callrouter"]
    call = twilio.call(from_="+12125550123").dial()
    call.hangup()
    call.dial()                                                    # Twilio retrying the first webhook, late
    call.press("1")
    assert ghosts(staffed, [call.sid]) == []
    assert rt.redis.hget(rt.keys.call(call.sid), "gone") is not None


def test_hang_ups_and_menu_answers_that_cross_leave_no_ghosts(staffed, clock):
    rt = staffed.extensions["callrouter"]
    rt.acd.set_status("alice", "available", clock.now)
    rt.acd.set_status("bob", "available", clock.now)
    calls = [TwilioTester(staffed.test_client(), AUTH_TOKEN).call(from_=f"+1212555{i:04d}").dial()
             for i in range(50)]

    def deliver(step):
        call, what = step
        mine = copy.copy(call)
        mine.tw = TwilioTester(staffed.test_client(), AUTH_TOKEN)  # a connection of its own, as Twilio's are
        mine.hangup() if what == "hangup" else mine.press("1")

    steps = [(call, what) for call in calls for what in ("hangup", "press")]
    random.Random(3).shuffle(steps)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(deliver, steps))
    assert ghosts(staffed, [c.sid for c in calls]) == []
    for agent in ("alice", "bob"):                                 # nobody left reserved for a ghost
        assert rt.agents.get(agent)["status"] == "available", agent
    assert all(rt.calls.load(c.sid)["status"] == "ended" for c in calls)
