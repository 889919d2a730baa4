"""Routing decisions per second and decision latency, against a raw Redis EVAL
baseline measured in the same run.

    .venv/bin/python -m bench.routing [--agents 100,1000,10000] [--calls 10000] [--skills 50]

A *decision* is the ACD's answer to "this agent is free: which waiting call
do they get?" — the `reroute` script for one agent over every waiting call
(10 000 by default, with requirements over 50 skills), which makes the offer
in the same script. Each decision is undone by an untimed script, so every
measurement sees the same floor. The *baseline* is the least a decision can
cost: one EVAL that reads the head of a sorted set and writes one hash field.
Decision and baseline calls alternate one by one in the same loop, amid the
same untimed set-up and undo traffic: a busy neighbour on the machine slows
both alike, and neither gets the warm path of a tight loop. The baseline
called back to back is printed too (tight/s), for comparison.

Targets (issue 4): decisions/s ≥ 0.5 × baseline; p99 < 2 ms at 10 000 agents.
Uses Redis database 12 on 127.0.0.1:6379 (FLUSHDB before and after; --redis-url for another). Not a test.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import datetime, timezone

import redis

from acd.agents import AgentStates
from acd.queueing import enqueue_fields
from acd.routing import Router
from acd.scripts import Scripts, buckets, script_text
from contactcenter.model import Queue
from store.keys import Keys

REDIS_URL = "redis://127.0.0.1:6379/12"
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)

# Untimed: take back the offer a decision made, so the next decision sees the same floor. It runs
# after acd/lua/lib.lua (see undo_script), whose wait_in_line puts the call back in line and in the
# routing index exactly as the service does. ARGV[4] the reservation id.
UNDO = """
local rid = ARGV[4]
local offer = K('offer:' .. rid)
local sid, agent = hget(offer, 'call'), hget(offer, 'agent')
wait_in_line(sid)
redis.call('HDEL', K('call:' .. sid), 'offered_at')
redis.call('DEL', offer)
redis.call('ZREM', K('timers'), 'offer:' .. rid)
redis.call('HSET', K('agent:' .. agent), 'status', 'available')
redis.call('HDEL', K('agent:' .. agent), 'offer')
redis.call('ZADD', K('idle'), ARGV[2], agent)
return 1
"""


def undo_script(r: redis.Redis):
    return r.register_script(script_text(UNDO))


BASELINE = """
local head = redis.call('ZRANGE', KEYS[1], 0, 0)
redis.call('HSET', KEYS[2], 'picked', head[1] or '')
return head[1]
"""


def build_floor(r: redis.Redis, agents: int, calls: int, skills: int, seed: int):
    r.flushdb()
    rnd = random.Random(seed)
    keys = Keys("bench")
    states = AgentStates(r, keys)
    router = Router(Scripts(r, keys, "UTC"))
    names = [f"s{i:02d}" for i in range(skills)]
    queue = Queue(name="q", skills={})
    ids = []
    for i in range(agents):
        agent = f"a{i:05d}"
        held = {s: rnd.randint(1, 10) for s in rnd.sample(names, rnd.randint(3, 6))}
        states.sync({"id": agent, "name": agent, "skills": held, "timezone": "UTC", "schedule": None}, NOW)
        r.hset(keys.agent(agent), "status", "break")         # logged in, not idle: routing ignores them
        ids.append(agent)
    for i in range(calls):
        req = {s: rnd.randint(1, 5) for s in rnd.sample(names, rnd.choice((1, 1, 2)))}
        sid = f"CA{i:032d}"
        r.hset(keys.call(sid), mapping={"from": "+14155550100"})
        fields, _ = enqueue_fields(queue, None, "+14155550100", NOW, call_sid=sid)
        fields["req"] = json.dumps(req, sort_keys=True, separators=(",", ":"))
        fields["reqkey"] = ",".join(f"{k}={v}" for k, v in sorted(req.items()))
        fields["score"] = round((NOW.timestamp() + rnd.random() * 600) * 1000)
        router.enqueue(sid, fields, [], NOW)     # agents are on break: it waits (unless nobody could serve)
    return keys, router, ids


def measure(r, keys, router, ids, n: int, seed: int) -> tuple[list[float], list[float], int]:
    """n decisions and n baseline calls in one loop: (decision latencies, baseline latencies, offers).

    Each turn sets an agent free (untimed), times the decision, takes its offer back (untimed) and
    times one baseline call, so that both run amid the same traffic. Which one goes first alternates."""
    rnd = random.Random(seed)
    undo = undo_script(r)
    baseline = r.register_script(BASELINE)
    wait_key, mark = baseline_keys(r, keys)
    decisions, base, offers = [], [], 0
    for i in range(n):
        agent = rnd.choice(ids)
        if i % 2:
            start = time.perf_counter()
            baseline(keys=[wait_key, mark])
            base.append(time.perf_counter() - start)
        r.hset(keys.agent(agent), "status", "available")
        r.zadd(keys.idle(), {agent: NOW.timestamp()})
        start = time.perf_counter()
        made = router.reroute(NOW, agents=[agent])
        decisions.append(time.perf_counter() - start)
        for offer in made:
            offers += 1
            undo(keys=[keys.events()], args=[keys.prefix, NOW.timestamp(), buckets(NOW, "UTC"), offer.reservation_id])
        r.zrem(keys.idle(), agent)
        r.hset(keys.agent(agent), "status", "break")
        if not i % 2:
            start = time.perf_counter()
            baseline(keys=[wait_key, mark])
            base.append(time.perf_counter() - start)
    return decisions, base, offers


def baseline_keys(r, keys) -> tuple[str, str]:
    return next(iter(r.scan_iter(match=keys.prefix + "wait:*", count=1000))), keys.prefix + "bench-baseline"


def measure_tight_baseline(r, keys, n: int) -> list[float]:
    """The baseline called back to back with nothing in between, for comparison."""
    script = r.register_script(BASELINE)
    wait_key, mark = baseline_keys(r, keys)
    latencies = []
    for _ in range(n):
        start = time.perf_counter()
        script(keys=[wait_key, mark])
        latencies.append(time.perf_counter() - start)
    return latencies


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", default="100,1000,10000")
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--skills", type=int, default=50)
    parser.add_argument("--decisions", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--redis-url", default=REDIS_URL,
                        help=f"a Redis database of its own, flushed before and after (default {REDIS_URL})")
    args = parser.parse_args()
    r = redis.Redis.from_url(args.redis_url)
    rows = []
    try:
        for agents in [int(x) for x in args.agents.split(",")]:
            print(f"building a floor of {agents} agents and {args.calls} waiting calls over {args.skills} skills…",
                  file=sys.stderr, flush=True)
            keys, router, ids = build_floor(r, agents, args.calls, args.skills, args.seed)
            measure(r, keys, router, ids, 200, args.seed + 1)          # warm-up
            decisions, baseline, offers = measure(r, keys, router, ids, args.decisions, args.seed + 2)
            tight = measure_tight_baseline(r, keys, args.decisions)
            reqsets = r.hlen(keys.prefix + "reqsets")
            waiting = r.zcard(keys.prefix + "queue:q")
            rows.append((agents, reqsets, len(decisions) / sum(decisions), len(baseline) / sum(baseline),
                         pct(decisions, 0.5) * 1e3, pct(decisions, 0.99) * 1e3, offers / len(decisions),
                         len(tight) / sum(tight), waiting))
    finally:
        r.flushdb()
    print()
    print(f"{'agents':>7} {'waiting':>8} {'req sets':>8} {'decisions/s':>12} {'baseline/s':>11} {'ratio':>6} "
          f"{'p50 ms':>7} {'p99 ms':>7} {'offered':>8} {'tight/s':>8} {'ratio':>6}")
    for agents, reqsets, rate, base, p50, p99, offered, tight, waiting in rows:
        print(f"{agents:>7} {waiting:>8} {reqsets:>8} {rate:>12.0f} {base:>11.0f} {rate / base:>6.2f} "
              f"{p50:>7.3f} {p99:>7.3f} {offered:>8.0%} {tight:>8.0f} {rate / tight:>6.2f}")
    print("(baseline/s: the baseline timed in the same loop as the decisions; tight/s: called back to back)")
    worst = rows[-1]
    ok = all(rate / base >= 0.5 for _, _, rate, base, *_ in rows) and worst[5] < 2.0
    print(f"\ntargets: ratio >= 0.5 at every size, p99 < 2 ms at {worst[0]} agents: {'PASS' if ok else 'BELOW TARGET'}")
    return 0 if ok else 2


if __name__ == "__main__":
    sys.exit(main())
