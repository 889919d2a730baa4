"""The ACD's routing scripts on a real Redis: who is offered a caller. An idle agent at once,
by skill level and shift, by priority then waiting time, by each queue's strategy, local first,
the preferred and the last agent, shift starts and ends. Each test runs with the scripts as a
function library and as scripts (the `floor` fixture)."""
from __future__ import annotations

import json

import pytest

from tests import test_acd_routing_fixtures as shared
from tests.acd_helpers import Floor, queue
from tests.test_acd_routing_fixtures import BILLING

# The shared fixture, found by pytest under this name in this module.
floor = shared.floor


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
