"""Several processes hammer the ACD at random (enqueue, status changes, accept,
reject, timeout, connect, hang-up, wrap-up, and a menu answer that Twilio delivers
after the hang-up) on one real Redis; the invariants are checked atomically after
every operation (no ended call waits, is offered or connects among them) and the
counters against the ground truth at the end."""
from __future__ import annotations

import json
import multiprocessing
import random
from datetime import datetime, timezone
from pathlib import Path

import redis as redis_lib

from tests.acd_helpers import Floor, queue
from tests.conftest import REDIS_URL

AGENTS = [f"a{i}" for i in range(12)]
QUEUES = [queue("billing", skills={"billing": 2}), queue("tech", skills={"tech": 1}, priority=1),
          queue("sales", skills={"sales": 3, "lang_es": 1})]
SKILLS = [{"billing": 3}, {"tech": 2}, {"billing": 2, "tech": 1}, {"sales": 5, "lang_es": 2}, {"billing": 1},
          {"sales": 3, "lang_es": 1, "billing": 2}]
PROCESSES = 4
OPS_PER_PROCESS = 5200
CHECKER = (Path(__file__).parent / "lua" / "acd_invariants.lua").read_text()


def _hammer(seed: int, ops: int, out) -> None:
    rnd = random.Random(seed)
    r = redis_lib.Redis.from_url(REDIS_URL)
    floor = Floor(r)
    check = r.register_script(CHECKER)
    mine: list[str] = []
    gone: list[str] = []
    late: list[str] = []                     # hung up in the menu, then their menu answer came
    enqueued = violations = 0
    for n in range(ops):
        floor.now = datetime.now(timezone.utc)        # one clock for every process
        op = rnd.random()
        agent = rnd.choice(AGENTS)
        if op < 0.15:
            sid, _ = floor.call(rnd.choice(QUEUES), sid=f"CA{seed:04d}{n:028d}")
            if floor.last_status == "queued":       # 'nobody': no one logged in could serve it
                mine.append(sid)
                enqueued += 1
        elif op < 0.30:
            floor.router.set_status(agent, rnd.choice(["available", "available", "break", "offline"]), floor.now)
        elif op < 0.50:
            rid = r.hget(floor.keys.agent(agent), "offer")
            if rid:
                floor.router.answer(rid.decode(), rnd.choice(["accept", "accept", "reject", "timeout"]), floor.now)
        elif op < 0.66:
            call = r.hget(floor.keys.agent(agent), "call")
            state = floor.acd(call.decode()) if call else None
            if state == "connecting":
                if rnd.random() < 0.8:
                    floor.router.connected(call.decode(), floor.now)
                else:
                    floor.router.dial_failed(call.decode(), floor.now)
            elif state == "connected":
                floor.router.talk_ended(call.decode(), floor.now)
            elif state == "leaving":            # the caller hung up while connecting: the Dial's end
                if rnd.random() < 0.5:
                    floor.router.dial_completed(call.decode(), rnd.choice([None, 3.0]), floor.now)
                else:
                    floor.router.dial_failed(call.decode(), floor.now)
        elif op < 0.78 and mine:
            sid = mine.pop(rnd.randrange(len(mine)))
            floor.router.call_gone(sid, floor.now)
            gone.append(sid)
        elif op < 0.84:
            # a turn after the hang-up: the caller hung up (in line, or still in the menu) and the
            # menu answer that queues them comes later; it must not put them back in line
            if gone and rnd.random() < 0.5:
                sid = rnd.choice(gone)
            else:
                sid = f"CA{seed:04d}{n:028d}"
                r.hset(floor.keys.call(sid), mapping={"from": "+14155550123", "status": "ivr"})
                floor.router.call_gone(sid, floor.now)
                late.append(sid)
            floor.call(rnd.choice(QUEUES), sid=sid)
            if floor.last_status != "ended":
                violations += 1
                out.put(("violation", n, [f"the late turn of ended call {sid} was {floor.last_status}"]))
                break
        else:
            call = r.hget(floor.keys.agent(agent), "call")
            if call and floor.status(agent) == "wrapup":
                floor.router.end_wrapup(agent, call.decode(), floor.now)
        problems = check(keys=[floor.keys.events()], args=[floor.keys.prefix, json.dumps(AGENTS),
                                                           json.dumps([q.name for q in QUEUES])])
        if problems:
            violations += 1
            out.put(("violation", n, [p.decode() for p in problems]))
            break
    out.put(("done", seed, enqueued, mine + gone, violations, late))


def test_random_hammering_keeps_every_invariant(redis_client):
    floor = Floor(redis_client)
    rnd = random.Random(7)
    for agent, skills in zip(AGENTS, [rnd.choice(SKILLS) for _ in AGENTS], strict=True):
        floor.agent(agent, skills, status="offline")
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    started = datetime.now(timezone.utc)
    procs = [ctx.Process(target=_hammer, args=(seed, OPS_PER_PROCESS, out)) for seed in range(1, PROCESSES + 1)]
    for p in procs:
        p.start()
    results = [out.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(30)
    violations = [r for r in results if r[0] == "violation"]
    assert not violations, violations[:3]
    total_ops = PROCESSES * OPS_PER_PROCESS
    assert total_ops >= 20_000

    # Wind down: every caller hangs up, every talk ends; then count the truth.
    calls = [sid for r in results for sid in r[3]]
    for sid in calls:
        floor.router.call_gone(sid, datetime.now(timezone.utc))
        if floor.acd(sid) == "leaving":         # hung up while connecting: the Dial's end says how it went
            if rnd.random() < 0.5:
                floor.router.dial_completed(sid, 2.0, datetime.now(timezone.utc))
            else:
                floor.router.dial_failed(sid, datetime.now(timezone.utc))
    outcomes = {}
    for sid in calls:
        state = redis_client.hmget(floor.keys.call(sid), "acd", "outcome")
        assert state[0] == b"ended", (sid, state)
        outcomes[sid] = state[1].decode()
    assert set(outcomes.values()) <= {"abandoned", "answered"}
    # the processes count on the real clock: today's buckets (both days', should the run cross midnight)
    totals: dict[str, float] = {}
    days = {floor.day(started): started, floor.day(datetime.now(timezone.utc)): datetime.now(timezone.utc)}
    for q in QUEUES:
        for at in days.values():
            floor.now = at
            for k, v in floor.stats(q.name).items():
                totals[k] = totals.get(k, 0) + v
    assert totals["offered"] == len(calls) == sum(r[2] for r in results)
    assert totals.get("abandoned", 0) == sum(1 for o in outcomes.values() if o == "abandoned")
    assert totals.get("answered", 0) == sum(1 for o in outcomes.values() if o == "answered")
    assert totals.get("answered", 0) > 50 and totals.get("abandoned", 0) > 50     # the run exercised both
    for agent in AGENTS:
        assert floor.status(agent) in ("available", "break", "offline", "wrapup"), agent
    assert redis_client.zcard(floor.keys.queue("billing")) == 0
    late = [sid for r in results for sid in r[5]]
    assert len(late) > 100                   # the run exercised late turns
    assert all(redis_client.hget(floor.keys.call(sid), "acd") is None for sid in late)
