"""The call-control scripts on their own (acd/lua: hold_call, offer_party, party_leg, transfer_out,
transfer_complete, transfer_cancel, answer_offer's offers to join a call), on a real Redis through the
Router, with the concurrency test's invariant checker run after each step."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from acd.queueing import enqueue_fields
from tests.acd_helpers import Floor, queue

BILLING, TECH = queue("billing", skills={"billing": 1}), queue("tech", skills={"tech": 1})
CHECKER = (Path(__file__).parent / "lua" / "acd_invariants.lua").read_text()
WARM = {"by": "a1", "by_name": "Ann", "mode": "warm", "kind": "agent", "target": "a2", "notes": "needs tech"}


@pytest.fixture
def floor(redis_client):
    floor = Floor(redis_client)
    floor.agent("a1", {"billing": 1})
    floor.agent("a2", {"tech": 1})
    floor.agent("a3", {"tech": 1})
    return floor


def holds(floor) -> None:
    """Every invariant of the ACD holds (tests/lua/acd_invariants.lua)."""
    problems = floor.r.register_script(CHECKER)(
        keys=[floor.keys.events()], args=[floor.keys.prefix, json.dumps(["a1", "a2", "a3"]),
                                          json.dumps(["billing", "tech"])])
    assert not problems, [p.decode() for p in problems]


def field(floor, key: str, name: str) -> str | None:
    value = floor.r.hget(key, name)
    return value.decode() if value else None


def consulting(floor, sid: str) -> str:
    """a1 (on `sid`) consults a2, who accepts and joins: the transfer's id."""
    rid, agent = floor.router.offer_party(sid, "a2", {}, "consult", "XF1", WARM, 15, floor.now)
    assert agent == "a2" and floor.status("a2") == "reserved"
    holds(floor)
    assert floor.router.answer_offer(rid, "accept", floor.now)[:2] == (3, sid)
    assert floor.router.party_leg(sid, "a2", "joined", floor.now)[0]
    assert field(floor, floor.keys.transfer("XF1"), "state") == "consulting"
    holds(floor)
    return "XF1"


def test_hold_counts_the_hold_time_once_per_call_queue_and_agent(floor):
    sid = floor.talking(BILLING, "a1")
    floor.tick(10)
    assert floor.router.hold(sid, True, floor.now) == (1, 0.0)
    assert floor.router.hold(sid, True, floor.tick(5)) == (0, 0.0)         # a repeat (Twilio's callback)
    assert floor.router.hold(sid, False, floor.tick(20)) == (1, 25.0)
    assert floor.router.hold(sid, False, floor.tick(1)) == (0, 25.0)
    floor.router.hold(sid, True, floor.tick(4))
    floor.router.talk_ended(sid, floor.tick(5))                            # a hold still on ends with the talk
    holds(floor)
    assert float(field(floor, floor.keys.call(sid), "hold_s")) == 30.0
    assert floor.stats("billing")["hold_s"] == 30.0
    assert float(field(floor, floor.keys.agent_stats("a1", floor.day(floor.now)), "hold_s")) == 30.0
    assert floor.router.hold(sid, True, floor.tick(1)) == (-1, 0.0)       # the call is over


def test_a_warm_transfer_completed_moves_the_call_to_the_target_and_the_first_agent_to_wrapup(floor):
    sid = floor.talking(BILLING, "a1")
    floor.router.hold(sid, True, floor.tick(10))
    xid = consulting(floor, sid)
    assert floor.router.transfer_complete(xid, "a2", floor.tick(30)) == ("not_yours", [])
    assert floor.router.transfer_complete(xid, "a1", floor.now) == (None, [sid, "a1", "a2"])
    holds(floor)
    assert field(floor, floor.keys.call(sid), "agent") == "a2"
    assert (floor.status("a1"), floor.status("a2")) == ("wrapup", "busy")
    assert field(floor, floor.keys.agent("a1"), "call") == field(floor, floor.keys.agent("a2"), "call") == sid
    assert not floor.r.exists(floor.keys.parties(sid)) and field(floor, floor.keys.call(sid), "xfer") is None
    assert field(floor, floor.keys.transfer(xid), "state") == "completed"
    stats = floor.stats("billing")
    assert (stats["transferred_out"], stats["transferred_in"], stats["hold_s"]) == (1, 1, 30.0)
    assert floor.router.transfer_complete(xid, "a1", floor.now) == ("over", [])
    floor.router.call_gone(sid, floor.tick(60))                             # the caller hangs up on a2
    assert (floor.status("a1"), floor.status("a2")) == ("wrapup", "wrapup")
    assert floor.stats("billing")["talk_s"] == 40.0 + 60.0                 # a1's part, then a2's
    holds(floor)


def test_a_cold_transfer_to_a_queue_keeps_the_caller_ahead_of_a_later_arrival(floor):
    first = floor.talking(BILLING, "a1")
    floor.router.set_status("a3", "break", floor.now)
    other = floor.talking(TECH, "a2", from_="+14155550999")               # a2 busy: tech callers wait
    floor.tick(60)
    later, _ = floor.call(TECH, from_="+14155550777")
    assert floor.waiting("tech") == [later]
    fields, timers = enqueue_fields(TECH, None, "+14155550123", floor.tick(60), call_sid=first)
    fields.pop("score")
    why, offers = floor.router.transfer_out(first, "a1", "XF2", fields, timers, 0,
                                            {"kind": "queue", "target": "tech", "notes": ""}, floor.now)
    assert (why, offers) == (None, [])
    holds(floor)
    assert floor.waiting("tech") == [first, later]                          # at the place first queued with
    assert floor.status("a1") == "wrapup" and field(floor, floor.keys.call(first), "queue") == "tech"
    floor.router.talk_ended(other, floor.tick(5))
    status, offers = floor.router.end_wrapup("a2", other, floor.tick(5))
    assert [(o.call_sid, o.agent_id) for o in offers] == [(first, "a2")]
    holds(floor)
    assert floor.stats("billing")["transferred_out"] == 1
    tech = floor.stats("tech")
    assert (tech["transferred_in"], tech["offered"]) == (1, 3)              # other, later, and first again


def test_a_caller_hanging_up_during_a_consult_frees_both_agents_and_withdraws_a_pending_party_offer(floor):
    sid = floor.talking(BILLING, "a1")
    xid = consulting(floor, sid)
    rid, agent = floor.router.offer_party(sid, "a3", {}, "party", "", None, 15, floor.now)
    assert agent == "a3" and floor.status("a3") == "reserved"
    holds(floor)
    assert floor.router.call_gone(sid, floor.tick(20))[0] == "connected"
    holds(floor)
    assert (floor.status("a1"), floor.status("a2"), floor.status("a3")) == ("wrapup", "available", "available")
    assert field(floor, floor.keys.agent("a2"), "call") is None and field(floor, floor.keys.agent("a3"), "call") is None
    assert not floor.r.exists(floor.keys.offer(rid)) and not floor.r.exists(floor.keys.parties(sid))
    assert floor.r.zscore(floor.keys.timers(), f"offer:{rid}") is None
    assert (field(floor, floor.keys.transfer(xid), "state"), field(floor, floor.keys.transfer(xid), "why")) \
        == ("failed", "call_ended")
    assert floor.router.answer_offer(rid, "accept", floor.tick(1)) == (0, None, [])     # nobody rung afterwards
    assert floor.router.party_leg(sid, "a2", "left", floor.now) == (False, [])
    assert floor.router.transfer_complete(xid, "a1", floor.now) == ("over", [])
