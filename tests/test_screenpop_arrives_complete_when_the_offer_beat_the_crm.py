"""Screen pop: an offer that reaches an agent before the prefetch job ran still gives them the
whole pop. The built-in CRM is local: the agent's stream looks the caller up itself. An outside
CRM's answer that comes after the offer is pushed to the agent holding the offer (or on the call)
as a `screenpop` event, which their stream fills with the whole pop, so the card updates in place."""
from __future__ import annotations

import json
import time

from tests import test_screenpop_fixtures as shared
from tests.conftest import AUTH_TOKEN, seed_demo, staff_on_break
from tests.test_screenpop_fixtures import CONTACT, DANA
from tests.twilio import TwilioTester

fake_crm = shared.fake_crm


def offered_to_alice(app, clock):
    """Dana presses 1 (billing) and alice, available, is offered the call at once: (call, offer)."""
    rt = app.extensions["callrouter"]
    call = TwilioTester(app.test_client(), AUTH_TOKEN).call(from_=DANA).dial().press("1")
    offers = rt.router.set_status("alice", "available", clock.now)[2]
    assert [o.call_sid for o in offers] == [call.sid]
    return call, rt.acd.current_offer("alice", rt.agents.get("alice"))


def events_of(pubsub, wait_s: float = 2.0) -> list[dict]:
    found, deadline = [], time.monotonic() + wait_s
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.05)
        if message and message["type"] == "message":
            found.append(json.loads(message["data"]))
        elif found:
            break
    return found


def test_with_the_built_in_crm_an_offer_before_the_prefetch_pops_the_caller_complete(staffed, clock):
    rt = staffed.extensions["callrouter"]
    call, offer = offered_to_alice(staffed, clock)
    assert rt.redis.get(rt.keys.screenpop(call.sid)) is None          # the prefetch job has not run
    pop = rt.screenpops.with_offer(offer, "alice")["screenpop"]
    assert pop["notice"] is None and pop["missing"] == []
    assert pop["contact"]["name"] == "Dana Reyes" and pop["contact"]["notes"] == "Renewal due in March"
    assert rt.prefetching.one(call.sid) == "already"                   # the job, late, has nothing to do


def test_an_outside_crm_answer_after_the_offer_is_pushed_to_the_agent_whole(make_app, fake_crm, clock):
    fake_crm.answers[DANA] = (200, CONTACT, 0.05)
    app = make_app({"CRM_URL": fake_crm.url})
    rt = app.extensions["callrouter"]
    seed_demo(rt)
    staff_on_break(rt, clock.now)
    call, offer = offered_to_alice(app, clock)
    first = rt.screenpops.with_offer(offer, "alice")["screenpop"]
    assert first["missing"] == ["crm", "history"]                     # an outside CRM is not asked inline
    listening = rt.redis.pubsub(ignore_subscribe_messages=True)
    listening.subscribe(rt.keys.agent_channel("alice"))
    try:
        assert rt.prefetching.one(call.sid) == "done"
        pushed = events_of(listening)
    finally:
        listening.close()
    assert pushed == [{"event": "screenpop", "call_sid": call.sid}]
    filled = rt.screenpops.with_offer(pushed[0], "alice")              # what alice's stream sends
    assert filled["event"] == "screenpop" and filled["screenpop"]["missing"] == []
    assert filled["screenpop"]["contact"]["company"] == "Globex"


def test_nobody_is_told_of_a_pop_for_a_call_no_agent_holds(staffed, redis_client):
    rt = staffed.extensions["callrouter"]
    call = TwilioTester(staffed.test_client(), AUTH_TOKEN).call(from_=DANA).dial().press("1")   # waits
    listening = rt.redis.pubsub(ignore_subscribe_messages=True)
    listening.psubscribe(rt.keys.agent_channels_pattern())
    try:
        assert rt.prefetching.one(call.sid) == "done"
        assert events_of(listening, 0.3) == []
    finally:
        listening.close()
