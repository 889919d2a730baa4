"""The ACD's routing scripts on a real Redis: the index of who waits for which requirement set.
Each set is indexed once, a stale index is healed, and lines an older layout scored in seconds
are brought to milliseconds with their tried marks; routing stays right throughout."""
from __future__ import annotations

import json

import pytest

from tests import test_acd_routing_fixtures as shared
from tests.acd_helpers import queue
from tests.test_acd_routing_fixtures import BILLING

# The shared fixture, found by pytest under this name in this module.
floor = shared.floor


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
