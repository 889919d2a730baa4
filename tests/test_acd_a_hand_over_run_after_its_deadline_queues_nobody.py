"""A Redis that is paused (or overloaded) runs the commands it was sent once it goes on, long after
the web stopped waiting and told the caller sorry: the hand-over to the ACD then carries a deadline
on Redis's clock and, run after it, puts nobody in line (acd/lua/enqueue_call.lua `late`). Found by
make faults: a caller who heard the apology was counted offered and abandoned."""
from __future__ import annotations

import redis

from acd.scripts import Deadline


def test_a_hand_over_run_after_its_deadline_queues_nobody_and_the_caller_hears_the_apology(staffed, twilio, clock):
    rt = staffed.extensions["callrouter"]
    rt.router.scripts.deadline = lambda: "1000000000.000"         # 2001: every command is late
    answer = twilio.call(from_="+12125550123").dial().press("1")
    assert "Enqueue" not in answer.verbs and "Hangup" in answer.verbs       # the when-down answer
    assert rt.redis.zcard(rt.keys.queue("billing")) == 0
    assert not rt.redis.hget(rt.keys.call(answer.sid), "acd")


def test_in_time_the_hand_over_queues_the_caller(staffed, twilio):
    rt = staffed.extensions["callrouter"]
    rt.router.scripts.deadline = lambda: "4102444800.000"         # 2100
    assert "Enqueue" in twilio.call(from_="+12125550123").dial().press("1").verbs
    assert rt.redis.zcard(rt.keys.queue("billing")) == 1


def test_the_deadline_is_on_redis_clock_a_share_of_the_read_timeout_ahead(redis_client):
    timed = redis.Redis(connection_pool=redis.ConnectionPool(
        **{**redis_client.connection_pool.connection_kwargs, "socket_timeout": 1.0}))
    seconds, micros = timed.time()
    deadline = float(Deadline(timed)())
    assert 0.6 < deadline - (seconds + micros / 1e6) < 1.0
    assert Deadline(redis_client)() == ""                          # no read timeout: it waits, no deadline
