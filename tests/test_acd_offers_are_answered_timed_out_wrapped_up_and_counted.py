"""The ACD's routing scripts on a real Redis: an offer's life. Accept, reject and timeout (one
answer wins; missed offers mean a break), a caller hanging up during an offer, connect, talk,
wrap-up and back to work, a failed connect, timers claimed once, and the live stats it adds up to."""
from __future__ import annotations

from tests import test_acd_routing_fixtures as shared
from tests.acd_helpers import queue
from tests.test_acd_routing_fixtures import BILLING

# The shared fixture, found by pytest under this name in this module.
floor = shared.floor


def test_reject_returns_the_caller_to_their_place_and_offers_someone_else(floor, redis_client):
    floor.agent("alice", {"billing": 3})
    first, offers = floor.call(BILLING)
    floor.tick(5)
    second, _ = floor.call(BILLING)
    score = redis_client.hget(floor.keys.call(first), "score")
    won, sid, again = floor.router.answer(offers[0].reservation_id, "reject", floor.tick(1), "alice")
    assert won and sid == first
    # alice rejected `first`: she is offered `second`; `first` waits at its old place
    assert [(o.call_sid, o.agent_id) for o in again] == [(second, "alice")]
    assert floor.waiting("billing") == [first]
    assert redis_client.hget(floor.keys.call(first), "score") == score
    bob = floor.agent("bob", {"billing": 3})
    assert bob[0].call_sid == first


def test_only_one_answer_wins_an_offer(floor):
    floor.agent("alice", {"billing": 3})
    _, offers = floor.call(BILLING)
    rid = offers[0].reservation_id
    assert floor.router.answer(rid, "accept", floor.now, "bob")[0] is False       # not bob's offer
    assert floor.router.answer(rid, "accept", floor.now, "alice")[0] is True
    for how in ("accept", "reject", "timeout"):
        assert floor.router.answer(rid, how, floor.now)[0] is False
    assert floor.status("alice") == "busy"


def test_missed_offers_put_the_agent_on_break(floor):
    q = queue("billing", skills={"billing": 1}, max_missed=2)
    floor.agent("alice", {"billing": 1})
    sid, offers = floor.call(q)
    won, _, again = floor.router.answer(offers[0].reservation_id, "timeout", floor.tick(15))
    assert won and floor.status("alice") == "available" and again == []   # alice missed this call
    other, offers = floor.call(q)
    floor.router.answer(offers[0].reservation_id, "timeout", floor.tick(15))
    assert floor.status("alice") == "break"
    assert sorted(floor.waiting("billing")) == sorted([sid, other])


def test_a_caller_who_hangs_up_during_an_offer_frees_the_agent_for_the_next(floor, redis_client):
    floor.agent("alice", {"billing": 3})
    gone, offers = floor.call(BILLING)
    floor.tick(3)
    nxt, _ = floor.call(BILLING)
    state, again = floor.router.call_gone(gone, floor.tick(1))
    assert state == "offered"
    assert [(o.call_sid, o.agent_id) for o in again] == [(nxt, "alice")]
    assert not redis_client.exists(floor.keys.offer(offers[0].reservation_id))
    assert floor.router.answer(offers[0].reservation_id, "accept", floor.now)[0] is False
    assert floor.stats("billing") == {"offered": 2, "abandoned": 1, "abandon_wait_s": 4, "short_abandoned": 1,
                                      "longest_wait_s": 4}
    assert floor.router.call_gone(gone, floor.now)[0] == "ended"        # repeated: nothing changes


def test_connect_talk_wrapup_and_back_to_work(floor, redis_client):
    q = queue("billing", skills={"billing": 1}, wrapup_s=20, service_level_s=10)
    floor.agent("alice", {"billing": 1})
    sid, offers = floor.call(q)
    floor.router.answer(offers[0].reservation_id, "accept", floor.tick(4))
    waiting_call, _ = floor.call(q)
    assert floor.router.connected(sid, floor.tick(2)) is True
    assert floor.router.connected(sid, floor.now) is False
    floor.router.call_gone(sid, floor.tick(60))                         # caller hangs up after talking
    assert floor.status("alice") == "wrapup"
    assert floor.router.talk_ended(sid, floor.now) is False             # the agent leg's callback: once
    status, offers = floor.router.end_wrapup("alice", sid, floor.tick(12))
    assert status == "available" and offers[0].call_sid == waiting_call
    stats = floor.stats("billing")
    assert stats["answered"] == 1 and stats["answered_sl"] == 1 and stats["talk_s"] == 60 and stats["wrap_s"] == 12
    # time in each status, for occupancy: reserved 4 s, busy 2 + 60 s, wrap-up 12 s (then reserved again)
    day = floor.day(floor.now)
    spent = {k.decode(): float(v) for k, v in redis_client.hgetall(floor.keys.agent_stats("alice", day)).items()
             if k.startswith(b"s_")}
    # (no s_offline: a new agent was never anywhere before logging in)
    assert spent == {"s_available": 0, "s_reserved": 4, "s_busy": 62, "s_wrapup": 12}
    from acd.stats import occupancy
    counters = {k: v for k, v in spent.items()}
    assert occupancy(counters, "reserved", 10) == round((62 + 12) / (4 + 62 + 12 + 10), 3)
    assert occupancy(counters, "break", 100) == round(74 / 78, 3) and occupancy({}, "offline", 5) is None


def test_break_chosen_during_wrapup_holds_after_it(floor):
    floor.agent("alice", {"billing": 1})
    sid, offers = floor.call(queue())
    floor.router.answer(offers[0].reservation_id, "accept", floor.now)
    floor.router.connected(sid, floor.now)
    floor.router.talk_ended(sid, floor.tick(30))
    assert floor.router.set_status("alice", "break", floor.now)[:2] == (200, "wrapup")
    floor.call(queue())
    assert floor.router.end_wrapup("alice", sid, floor.tick(5))[0] == "break"
    assert floor.status("alice") == "break"


def test_a_failed_connect_puts_the_caller_back_in_place(floor, redis_client):
    floor.agent("alice", {"billing": 1})
    sid, offers = floor.call(queue())
    floor.tick(2)
    later, _ = floor.call(queue())
    floor.router.answer(offers[0].reservation_id, "accept", floor.tick(1))
    ok, again = floor.router.dial_failed(sid, floor.tick(20))
    assert ok and again[0].call_sid == later and again[0].agent_id == "alice"   # alice missed `sid`
    assert floor.waiting("billing") == [sid]
    assert floor.agent("bob", {"billing": 1})[0].call_sid == sid


def test_timers_are_claimed_once(floor):
    floor.agent("alice", {"billing": 1})
    _, offers = floor.call(queue())
    due = floor.tick(15)
    assert floor.router.claim_timers(due) == [f"offer:{offers[0].reservation_id}"]
    assert floor.router.claim_timers(due) == []


def test_live_stats_follow_the_contract_definitions(floor, redis_client):
    from acd.stats import live_stats
    from contactcenter.model import ContactCenter
    q = queue("billing", skills={"billing": 1}, service_level_s=20, wrapup_s=10)
    cc = ContactCenter(path="t", workspace="t", timezone="America/New_York", hours={}, queues={"billing": q},
                       flows={}, numbers={})
    floor.agent("alice", {"billing": 1})
    floor.agent("bob", {"billing": 2}, status="break")
    floor.agent("tech", {"tech": 1}, status="available")
    answered, offers = floor.call(q)                                   # offered at once to alice
    floor.router.answer(offers[0].reservation_id, "accept", floor.tick(10))
    floor.router.connected(answered, floor.tick(5))                    # waited 15 s: within 20
    floor.router.talk_ended(answered, floor.tick(100))
    floor.router.end_wrapup("alice", answered, floor.tick(20))          # alice is free again
    floor.router.set_status("alice", "break", floor.now)
    quick, _ = floor.call(q)
    floor.router.call_gone(quick, floor.tick(3))                       # a short abandon
    late, _ = floor.call(q)
    floor.router.call_gone(late, floor.tick(40))                       # abandoned after 40 s
    waiting, _ = floor.call(q)
    floor.tick(7)
    stats = live_stats(redis_client, floor.keys, cc, floor.now)
    billing = stats["queues"]["billing"]
    assert billing["waiting"] == 1 and billing["longest_wait_s"] == 7 and billing["callbacks_pending"] == 0
    assert billing["agents"] == {"available": 0, "reserved": 0, "busy": 0, "wrapup": 0, "break": 2, "offline": 0}
    assert billing["today"] == {"offered": 4, "answered": 1, "abandoned": 2, "short_abandoned": 1,
                                "service_level": 0.5,          # 1 within 20 s / (1 + 2 - 1)
                                "asa_s": 15.0, "aht_s": 120.0, "longest_wait_s": 40.0,
                                "callbacks": 0, "callbacks_served": 0, "overflowed": 0,
                                "transferred_in": 0, "transferred_out": 0, "hold_s": 0}
    assert stats["agents"]["alice"]["calls"] == 1 and stats["agents"]["alice"]["talk_s"] == 100
    assert stats["agents"]["alice"]["status"] == "break"


def test_an_accept_after_the_deadline_is_the_timeout_when_no_clock_fired_it(floor, redis_client):
    q = queue("billing", skills={"billing": 1}, offer_timeout_s=15)
    floor.agent("alice", {"billing": 1})
    floor.agent("bob", {"billing": 1}, status="break")
    sid, offers = floor.call(q)
    rid = offers[0].reservation_id
    floor.router.set_status("bob", "available", floor.now)                   # nobody waits for him yet
    won, call, again = floor.router.answer(rid, "accept", floor.tick(15.5), "alice")   # within the grace
    assert won and call == sid
    sid2, offers = floor.call(q, sid="CA-second")
    assert offers and offers[0].agent_id == "bob"
    won, call, again = floor.router.answer(offers[0].reservation_id, "accept", floor.tick(30), "bob")
    assert (won, call) == (False, sid2)                                      # too late: the workers' clocks were down
    assert floor.status("bob") == "available" and floor.acd(sid2) == "waiting"
    assert redis_client.hget(floor.keys.agent("bob"), "misses") == b"1"
    assert floor.router.answer(offers[0].reservation_id, "accept", floor.now, "bob")[0] is False
