"""The ACD's routing scripts on a real Redis: offers by skill, level, strategy and
priority; accept, reject, timeout, abandon, connect, wrap-up; escalation and overflow."""
from __future__ import annotations

import json

import pytest

from tests.acd_helpers import Floor, queue

BILLING = queue("billing", skills={"billing": 2})


@pytest.fixture(params=["functions", "scripts"])
def floor(request, redis_client):
    """The routing scripts as a function library (Redis 7+) and as scripts (EVALSHA: older servers,
    the embedded Redis): each test runs with both."""
    return Floor(redis_client, functions=request.param == "functions")


def test_a_flushed_function_library_is_loaded_again(redis_client):
    floor = Floor(redis_client, functions=True)
    floor.agent("alice", {"billing": 3})
    redis_client.function_flush()
    sid, offers = floor.call(BILLING)
    assert [(o.call_sid, o.agent_id) for o in offers] == [(sid, "alice")]
    assert redis_client.function_list(library=f"callrouter_{floor.router.scripts.digest}")


def test_a_caller_is_offered_at_once_to_an_idle_agent(floor, redis_client):
    floor.agent("alice", {"billing": 3})
    pubsub = redis_client.pubsub()
    pubsub.subscribe(floor.keys.agent_channel("alice"))
    pubsub.get_message(timeout=1)
    sid, offers = floor.call(BILLING)
    assert [(o.call_sid, o.agent_id) for o in offers] == [(sid, "alice")]
    assert floor.status("alice") == "reserved" and floor.acd(sid) == "offered"
    message = json.loads(pubsub.get_message(timeout=1)["data"])
    assert message == {"event": "offer", "reservation_id": offers[0].reservation_id, "call_sid": sid,
                       "queue": "billing", "expires_at": floor.now.timestamp() + 15, "callback": False}
    assert redis_client.zscore(floor.keys.timers(), f"offer:{offers[0].reservation_id}") \
        == floor.now.timestamp() + 15
    assert floor.stats("billing") == {"offered": 1}


def test_skill_levels_and_shifts_decide_who_is_eligible(floor):
    floor.agent("junior", {"billing": 1})
    floor.agent("offshift", {"billing": 9}, schedule={"sat": "09:00-10:00"})
    floor.agent("other", {"tech": 9})
    sid, offers = floor.call(BILLING)
    assert offers == [] and floor.waiting("billing") == [sid]
    assert floor.agent("senior", {"billing": 2})[0].call_sid == sid


def test_a_freed_agent_takes_the_highest_priority_then_the_longest_waiting(floor):
    sales = queue("sales", skills={"billing": 1}, priority=1)
    floor.agent("standby", {"billing": 9}, status="break")      # logged in: callers may queue
    first, _ = floor.call(BILLING)
    floor.tick(30)
    second, _ = floor.call(BILLING)
    floor.tick(30)
    urgent, _ = floor.call(sales)
    offers = floor.agent("alice", {"billing": 5})
    assert offers[0].call_sid == urgent               # priority 1 is worth 10 minutes of waiting
    offers = floor.agent("bob", {"billing": 5})
    assert offers[0].call_sid == first


def test_each_requirement_set_is_indexed_once_and_a_stale_index_is_healed(floor, redis_client):
    keys = floor.keys
    heads = lambda skill: {k.decode(): v for k, v in redis_client.zrange(keys.reqheads(skill), 0, -1,  # noqa: E731
                                                                             withscores=True)}
    floor.agent("standby", {"billing": 9, "lang_es": 9}, status="break")
    spanish = queue("es", skills={"billing": 1, "lang_es": 3})
    english, _ = floor.call(BILLING)
    floor.tick(30)
    first_es, _ = floor.call(spanish)
    floor.tick(5)
    second_es, _ = floor.call(spanish)
    # {billing 1, lang_es 3} lives in the list of its most demanding skill only
    assert set(heads("lang_es")) == {"billing=1,lang_es=3"} and set(heads("billing")) == {"billing=2"}
    # an index as an older layout left it: the Spanish set in its other skill's list too, at a stale
    # score before every real caller, and a set nobody waits in any more
    redis_client.zadd(keys.reqheads("billing"), {"billing=1,lang_es=3": 1.0, "billing=7": 2.0})
    redis_client.hset(keys.reqsets(), "billing=7", json.dumps({"billing": 7}))
    # routing still gives the longest waiting caller first, whatever the stale entries say
    assert floor.agent("ana", {"billing": 5, "lang_es": 5})[0].call_sid == english
    assert floor.router.rebuild_index(floor.now) == (1, 1)
    assert heads("billing") == {} and redis_client.hget(keys.reqsets(), "billing=7") is None
    assert heads("lang_es") == {"billing=1,lang_es=3": pytest.approx(
        redis_client.zscore(keys.wait("billing=1,lang_es=3"), first_es))}
    assert floor.router.rebuild_index(floor.now) == (1, 0)          # a right index stays as it is
    assert floor.agent("luis", {"billing": 5, "lang_es": 5})[0].call_sid == first_es


def test_lines_scored_in_seconds_are_brought_to_milliseconds_with_their_tried_marks(floor, redis_client):
    keys = floor.keys
    floor.agent("ana", {"billing": 5})
    first, offers = floor.call(BILLING)
    # ana rejects the first caller, so she may not have them again; she takes a break
    floor.router.answer(offers[0].reservation_id, "reject", floor.now, "ana")
    floor.router.set_status("ana", "break", floor.now)
    floor.tick(2)
    second, _ = floor.call(BILLING)
    floor.tick(2)
    vip, _ = floor.call(BILLING, priority_bonus=1)
    assert floor.waiting("billing") == [vip, first, second] and redis_client.hget(floor.keys.call(first), "tried")
    ms = {sid: redis_client.zscore(keys.queue("billing"), sid) for sid in (first, second, vip)}
    assert all(score == int(score) > 1e12 for score in ms.values())
    # the floor as the layout before milliseconds left it: seconds everywhere, no tried marks
    for sid, score in ms.items():
        redis_client.zadd(keys.wait("billing=2"), {sid: score / 1000})
        redis_client.zadd(keys.queue("billing"), {sid: score / 1000})
        redis_client.hset(floor.keys.call(sid), "score", score / 1000)
        redis_client.hdel(floor.keys.call(sid), "tried")
    floor.router.rebuild_index(floor.now)
    assert {sid: redis_client.zscore(keys.queue("billing"), sid) for sid in ms} == ms
    assert {sid: float(redis_client.hget(floor.keys.call(sid), "score")) for sid in ms} == ms
    assert redis_client.zrange(keys.reqheads("billing"), 0, -1, withscores=True) == [(b"billing=2", ms[vip])]
    assert redis_client.hget(floor.keys.call(first), "tried") == b"1"
    # the VIP goes first; then ana, free again, is not offered the caller she rejected
    assert [o.call_sid for o in floor.agent("bob", {"billing": 5})] == [vip]
    assert [o.call_sid for o in floor.router.set_status("ana", "available", floor.now)[2]] == [second]


@pytest.mark.parametrize("strategy, expected", [("longest_idle", "a"), ("most_skilled", "b"),
                                                ("fewest_calls", "c"), ("least_talk_time", "b")])
def test_strategies(floor, redis_client, strategy, expected):
    floor.agent("a", {"billing": 2})
    floor.tick(1)
    floor.agent("b", {"billing": 9})
    floor.tick(1)
    floor.agent("c", {"billing": 3})
    redis_client.hset(floor.keys.agent("a"), mapping={"calls": 5, "talk_s": 900})
    redis_client.hset(floor.keys.agent("b"), mapping={"calls": 4, "talk_s": 100})
    redis_client.hset(floor.keys.agent("c"), mapping={"calls": 1, "talk_s": 500})
    _, offers = floor.call(queue("billing", skills={"billing": 2}, strategy=strategy))
    assert offers[0].agent_id == expected


def test_round_robin_rotates(floor):
    q = queue("billing", skills={"billing": 1}, strategy="round_robin")
    for name in ("a", "b", "c"):
        floor.agent(name, {"billing": 1})
    chosen = []
    for _ in range(3):
        sid, offers = floor.call(q)
        chosen.append(offers[0].agent_id)
        floor.router.answer(offers[0].reservation_id, "reject", floor.tick(1))
        floor.router.call_gone(sid, floor.now)
    assert sorted(chosen) == ["a", "b", "c"]


def test_local_first_follows_the_sun(floor):
    q = queue("billing", skills={"billing": 1}, local_first=True)
    floor.agent("madrid", {"billing": 1}, timezone="Europe/Madrid")
    floor.tick(1)
    floor.agent("nyc", {"billing": 1}, timezone="America/New_York")
    assert floor.call(q, from_="+12125550100")[1][0].agent_id == "nyc"
    assert floor.call(q, from_="+34912345678")[1][0].agent_id == "madrid"


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
    assert spent == {"s_offline": 0, "s_available": 0, "s_reserved": 4, "s_busy": 62, "s_wrapup": 12}
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


def test_escalation_relaxes_requirements(floor, redis_client):
    q = queue("billing", skills={"billing": 5}, escalate=[(60, {"billing": 1})])
    floor.agent("senior", {"billing": 5}, status="break")       # could serve, but on break
    floor.agent("junior", {"billing": 1})
    sid, offers = floor.call(q)
    assert offers == []
    timers = floor.router.claim_timers(floor.tick(60))
    assert timers == [f"escalate:{sid}:0"]
    offers = floor.router.escalate(sid, {"billing": 1}, "billing=1", floor.now)
    assert offers[0].agent_id == "junior"


def test_a_caller_only_a_later_step_could_serve_still_queues(floor):
    # Spanish callers want lang_es; after 30 s any billing agent will do. With no Spanish speaker
    # logged in, the caller still waits for the English agent (on break now), instead of overflowing.
    q = queue("billing", skills={"billing": 1, "lang_es": 1}, escalate=[(30, {"billing": 1})])
    floor.agent("english", {"billing": 5}, status="break")
    sid, offers = floor.call(q)
    assert offers == [] and floor.last_status == "queued" and floor.waiting("billing") == [sid]
    assert floor.router.set_status("english", "available", floor.tick(5))[2] == []    # not before the step
    assert floor.router.claim_timers(floor.tick(25)) == [f"escalate:{sid}:0"]
    assert floor.router.escalate(sid, {"billing": 1}, "billing=1", floor.now)[0].agent_id == "english"
    # with no step that anyone logged in could meet, the caller is not queued
    lonely, _ = floor.call(queue("billing", skills={"lang_fr": 1}, escalate=[(30, {"lang_fr": 1, "billing": 1})]))
    assert floor.last_status == "nobody" and floor.acd(lonely) is None


def test_overflow_takes_the_caller_out_of_line_once(floor):
    floor.agent("standby", {"billing": 1}, status="break")
    sid, _ = floor.call(queue())
    assert floor.router.leave_queue(sid, "overflowed", floor.tick(600)) is True
    assert floor.router.leave_queue(sid, "overflowed", floor.now) is False
    assert floor.waiting("billing") == [] and floor.stats("billing")["overflowed"] == 1
    assert floor.agent("alice", {"billing": 1}) == []


def test_nobody_logged_in_who_could_serve_means_no_queueing(floor, redis_client):
    floor.agent("offline", {"billing": 9}, status="offline")
    floor.agent("unskilled", {"tech": 9}, status="break")
    sid, _ = floor.call(queue())
    assert floor.acd(sid) is None and floor.waiting("billing") == []
    assert floor.stats("billing") == {}
    floor.agent("late", {"billing": 1}, status="break")
    assert floor.router.enqueue(sid, *_fields(sid), floor.now)[0] == "queued"


def test_whoever_could_serve_is_found_past_the_first_page_of_agents(floor):
    # 40 agents hold the skill but are logged out; the one logged in comes last in the skill's set
    for i in range(40):
        floor.agent(f"a{i:02d}", {"billing": 5}, status="offline")
    floor.agent("zz", {"billing": 5}, status="break")
    first, _ = floor.call(BILLING)
    assert floor.last_status == "queued" and floor.waiting("billing") == [first]
    floor.router.set_status("zz", "offline", floor.now)
    floor.call(BILLING)
    assert floor.last_status == "nobody" and floor.waiting("billing") == [first]


def _fields(sid):
    from acd.queueing import enqueue_fields
    from tests.acd_helpers import T0
    return enqueue_fields(queue(), None, "+14155550123", T0, call_sid=sid)


def test_preferred_agent_is_waited_for_then_anyone(floor):
    q = queue("billing", skills={"billing": 1}, preferred_agent_wait_s=30)
    floor.agent("other", {"billing": 1})
    sid, offers = floor.call(q, preferred_agent="alice")
    assert offers == []
    assert floor.agent("alice", {"billing": 1})[0].call_sid == sid
    sid2, offers = floor.call(q, preferred_agent="alice")
    assert offers == []
    floor.tick(31)
    assert floor.router.reroute(floor.now, calls=[sid2])[0].agent_id == "other"


def test_timers_are_claimed_once(floor):
    floor.agent("alice", {"billing": 1})
    _, offers = floor.call(queue())
    due = floor.tick(15)
    assert floor.router.claim_timers(due) == [f"offer:{offers[0].reservation_id}"]
    assert floor.router.claim_timers(due) == []


def test_a_shift_start_routes_the_agent_and_its_end_stops_offers(floor, redis_client):
    from acd.service import AcdService
    acd = AcdService(None, redis_client, floor.keys, floor.router, twilio=lambda: None, public_url=None)
    # Monday 15:00 UTC is 10:00 in New York: before Ana's 11:00 start
    floor.agent("ana", {"billing": 1}, timezone="America/New_York", schedule={"mon-fri": "11:00-12:00"})
    sid, offers = floor.call(queue())
    assert offers == [] and floor.status("ana") == "available"
    assert acd.refresh_shifts(floor.tick(3600)) == 1                   # 11:00: on shift, offered at once
    assert floor.status("ana") == "reserved" and floor.acd(sid) == "offered"
    floor.router.answer(redis_client.hget(floor.keys.agent("ana"), "offer").decode(), "reject", floor.now)
    assert acd.refresh_shifts(floor.tick(3600)) == 1                   # 12:00: off shift
    assert redis_client.zscore(floor.keys.idle(), "ana") is None
    floor.call(queue())
    assert floor.status("ana") == "available"


def test_the_last_agent_is_remembered_for_the_next_call(floor, redis_client):
    from acd.service import AcdService
    from contactcenter.model import Node
    q = queue("billing", skills={"billing": 1}, preferred_agent_wait_s=30)
    acd = AcdService(type("CC", (), {"queues": {"billing": q}})(), redis_client, floor.keys, floor.router,
                     twilio=lambda: None, public_url=None)
    floor.agent("alice", {"billing": 1})
    sid, offers = floor.call(q, from_="+14155550100")
    floor.router.answer(offers[0].reservation_id, "accept", floor.now)
    floor.router.connected(sid, floor.now)
    floor.router.talk_ended(sid, floor.tick(60))
    floor.agent("bob", {"billing": 1})                       # idle, but not Dana's last agent
    node = Node(name="billing_q", kind="queue", queue="billing")
    redis_client.hset(floor.keys.call("CA-next"), mapping={"from": "+14155550100"})
    assert acd.enqueue("CA-next", node, "+14155550100", floor.tick(1)) is True
    assert floor.acd("CA-next") == "waiting"                 # kept for alice, who is wrapping up
    floor.router.end_wrapup("alice", sid, floor.tick(5))
    assert floor.acd("CA-next") == "offered"
    assert redis_client.hget(floor.keys.call("CA-next"), "offer") == redis_client.hget(floor.keys.agent("alice"), "offer")


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
                                "callbacks": 0, "callbacks_served": 0, "overflowed": 0}
    assert stats["agents"]["alice"]["calls"] == 1 and stats["agents"]["alice"]["talk_s"] == 100
    assert stats["agents"]["alice"]["status"] == "break"


def test_callers_nobody_logged_in_could_serve_any_more_overflow(floor):
    spanish = queue("billing", skills={"billing": 1, "lang_es": 1}, escalate=[(30, {"billing": 1})])
    floor.agent("standby", {"billing": 5}, status="break")
    floor.agent("maria", {"billing": 5, "lang_es": 3}, status="break")
    waiting, _ = floor.call(queue())
    hoping, _ = floor.call(spanish)                 # an English agent may serve after the escalation
    asked, _ = floor.call(queue())
    assert floor.router.request_callback(asked, "+13125550142", floor.now)
    assert floor.router.overflow_stranded(floor.now) == []              # someone could still serve all
    floor.router.set_status("maria", "offline", floor.tick(1))
    assert floor.router.overflow_stranded(floor.now) == []              # standby, after the step
    floor.router.set_status("standby", "offline", floor.tick(1))
    assert floor.router.overflow_stranded(floor.now) == [waiting, hoping]
    assert floor.acd(waiting) == floor.acd(hoping) == "left" and floor.stats("billing")["overflowed"] == 2
    assert floor.waiting("billing") == [asked]      # the callback request keeps its place
    assert floor.router.overflow_stranded(floor.now) == []
