"""Several processes hammer the ACD at random on one real Redis: callers queue, hang up (waiting, ringing,
talking, during a consult) and answer the menu after their hang-up; agents change status, accept,
reject or miss offers, connect, talk and wrap up; and the call controls: hold and resume, a warm
transfer (to an agent, or a queue's free agent, who joins, leaves or never comes; then complete or
cancel), a three-way party, a cold transfer to a queue, a transfer to a number (cold, or warm: ringing,
answered, completed) and supervisors monitoring calls. The invariants are checked atomically after
every operation (no agent on two calls, no ended call waits, is offered, connects or keeps anyone on
it) and the counters at the end against the ground truth: what the scripts answered the processes."""
from __future__ import annotations

import json
import multiprocessing
import random
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest
import redis as redis_lib

from acd.queueing import enqueue_fields, requirements
from tests.acd_helpers import Floor, queue
from tests.conftest import REDIS_URL

AGENTS = [f"a{i}" for i in range(12)]
QUEUES = [queue("billing", skills={"billing": 2}), queue("tech", skills={"tech": 1}, priority=1),
          queue("sales", skills={"sales": 3, "lang_es": 1})]
SKILLS = [{"billing": 3}, {"tech": 2}, {"billing": 2, "tech": 1}, {"sales": 5, "lang_es": 2}, {"billing": 1},
          {"sales": 3, "lang_es": 1, "billing": 2}]
SUPERVISORS = ["sup1", "sup2"]
PROCESSES = 4
OPS_PER_PROCESS = 10_000           # about 80 s on two cores, the checker run after each
CHECKER = (Path(__file__).parent / "lua" / "acd_invariants.lua").read_text()
# the operations and how often each comes; the agent it acts on is mostly one in WANTS's status
OPS, WEIGHTS = zip(*{"enqueue": 11, "status": 9, "answer": 15, "progress": 14, "hang_up": 11, "late_turn": 4,
                     "wrapup": 10, "control": 26, "assign": 4}.items(), strict=True)
WANTS = {"answer": "reserved", "progress": "busy", "wrapup": "wrapup", "assign": "available"}
WATCHED = "hammer:watched"            # calls given parties or a transfer, checked from the call's side too
# each new operation must have happened this often in the run (the ground truth's names, see _hammer)
EXERCISED = {"hold": 300, "monitor": 150, "consult": 150, "party": 80, "answer_3": 150, "party_joined": 60,
             "party_left": 30, "party_failed": 15, "complete": 25, "cancel": 80, "transfer_out": 150, "away": 100,
             "number_begin": 100, "number_joined": 80, "assign": 50}


def _snapshot(r, keys) -> tuple[dict, dict]:
    """(agent -> [status, call, offer], call -> [acd, agent, xfer, held_at]) as this process reads them."""
    pipe = r.pipeline(transaction=False)
    for a in AGENTS:
        pipe.hmget(keys.agent(a), "status", "call", "offer")
    agents = {a: [x.decode() if x else None for x in row] for a, row in zip(AGENTS, pipe.execute(), strict=True)}
    sids = sorted({row[1] for row in agents.values() if row[1]})
    for sid in sids:
        pipe.hmget(keys.call(sid), "acd", "agent", "xfer", "held_at")
    calls = {sid: [x.decode() if x else None for x in row] for sid, row in zip(sids, pipe.execute(), strict=True)}
    return agents, calls


def _progress(floor, rnd, agent: str, sid: str, call: list, seen: Counter) -> None:
    """The agent's leg moves on: the call's agent connects, fails, talks to the end, or ends a Dial
    after the caller's hang-up; a party (consulted, three-way) joins, leaves or never comes."""
    router, now, state = floor.router, floor.now, call[0]
    if call[1] != agent:
        what = rnd.choices(["joined", "left", "failed"], [6, 2, 1])[0]
        if router.party_leg(sid, agent, what, now)[0]:
            seen["party_" + what] += 1
    elif state == "connecting":
        if rnd.random() < 0.8:
            seen["answered"] += router.connected(sid, now)
        else:                           # (the caller may have hung up since the snapshot: abandoned)
            _dial_failed(floor, sid, seen)
    elif state == "connected" and rnd.random() < 0.15:     # (else still talking: consults have time)
        if rnd.random() < 0.5:
            router.talk_ended(sid, now)
        else:                           # the agent's leg ended: the Dial's end, for this part's offer
            rid = floor.r.hget(floor.keys.call(sid), "offer")
            router.dial_completed(sid, rnd.choice([None, 4.0]), now, rid.decode() if rid else "")
    elif state == "leaving":            # the caller hung up while connecting: the Dial's end
        _dial_end(floor, rnd, sid, rnd.choice([None, 3.0]), seen)


def _dial_end(floor, rnd, sid: str, talk: float | None, seen: Counter) -> None:
    """The Dial of a call `leaving` ends: answered after all (counted answered), or not (abandoned)."""
    if rnd.random() < 0.5:
        seen["answered"] += floor.router.dial_completed(sid, talk, floor.now)
    else:
        _dial_failed(floor, sid, seen)


def _dial_failed(floor, sid: str, seen: Counter) -> None:
    """The agent's leg failed: the caller back in line, or abandoned when they had hung up meanwhile
    (another process's hang-up can land between the snapshot and this script)."""
    if int(floor.router.scripts.run("dial_failed", floor.now, sid, "")[0]) == 2:
        seen["abandoned"] += 1


def _control(floor, rnd, seed: int, n: int, agents: dict, sid: str, call: list, seen: Counter) -> None:
    """One call control on a connected call, by its agent (a supervisor now and then, or another agent,
    whom the scripts refuse)."""
    r, router, keys, now = floor.r, floor.router, floor.keys, floor.now
    primary, xfer, held = call[1], call[2], call[3]
    by = rnd.choices([primary, "", rnd.choice(AGENTS)], [8, 1, 1])[0]
    xid = f"XF{seed:02d}{n:06d}"
    info = {"by": primary, "by_name": primary, "target": "+15550001111", "notes": "", "kind": "number"}
    op = 0.6 if xfer and rnd.random() < 0.3 else rnd.random()      # a transfer under way moves on sooner
    if op < 0.15:
        seen["hold"] += router.hold(sid, not held, now)[0] == 1
    elif op < 0.23:
        # a supervisor listens, whispers or barges, or stops. No script keeps monitors: acd/controls.py
        # writes the entry and drops it when the supervisor's leg ends (monitor_leg, Twilio's callback),
        # not when the call ends, so no invariant ties it to the call's state; the op runs among the rest
        user = rnd.choice(SUPERVISORS)
        if rnd.random() < 0.75:
            r.hset(keys.monitors(sid), user, json.dumps({"mode": rnd.choice(["listen", "whisper", "barge"]),
                                                         "leg": f"CA{user}{sid[-8:]}", "agent": primary}))
            seen["monitor"] += 1
        else:
            r.hdel(keys.monitors(sid), user)
    elif op < 0.53:                     # consult an agent (a queue's free agent), or add a three-way party
        consult = rnd.random() < 0.7
        free = [a for a, row in agents.items() if row[0] == "available"]
        wanted, req = rnd.choice(free if free and rnd.random() < 0.8 else AGENTS), {}
        if rnd.random() < 0.35:
            q = rnd.choice(QUEUES)
            wanted, req = "", requirements(q)
            info.update(kind="queue", target=q.name)
        else:
            info.update(kind="agent", target=wanted)
        info["mode"] = "warm"
        r.sadd(keys.prefix + WATCHED, sid)
        rid, _ = router.offer_party(sid, wanted, req, "consult" if consult else "party", xid if consult else "",
                                    info if consult else None, 15, now)
        seen["consult" if consult else "party"] += rid is not None
    elif op < 0.78:                     # the transfer under way completes or is called off
        if not xfer:
            return
        kind, state = [x.decode() if x else None for x in r.hmget(keys.transfer(xfer), "kind", "state")]
        if kind == "number" and state == "ringing" and rnd.random() < 0.6:     # the number answered
            seen["number_joined"] += router.transfer_away(sid, "", xfer, "joined", info, now)[0] is None
        elif rnd.random() < 0.25:       # called off (a number's leg that failed is called off too)
            seen["cancel"] += router.transfer_cancel(xfer, rnd.choice([by, ""]), now)[0] is None
        elif kind == "number":
            seen["away"] += router.transfer_away(sid, by, xfer, "complete", info, now)[0] is None
        else:
            seen["complete"] += router.transfer_complete(xfer, by, now)[0] is None
    elif op < 0.88:                     # a cold transfer to a queue: the caller keeps their first place
        q = rnd.choice(QUEUES)
        fields, timers = enqueue_fields(q, None, "+14155550123", now, call_sid=sid)
        fields.pop("score")
        info.update(kind="queue", target=q.name, mode="cold")
        why, _ = router.transfer_out(sid, by, xid, fields, timers, rnd.choice([0, 60_000]), info, now)
        seen["transfer_out"] += why is None
    else:                               # to a number: at once, or warm (ringing it while the caller holds)
        what = rnd.choice(["cold", "begin", "begin"])
        if what == "begin":
            r.sadd(keys.prefix + WATCHED, sid)
        ok = router.transfer_away(sid, by, xid, what, info, now)[0] is None
        seen["away" if what == "cold" else "number_begin"] += ok


def _hammer(seed: int, ops: int, out) -> None:
    rnd = random.Random(seed)
    r = redis_lib.Redis.from_url(REDIS_URL)
    floor = Floor(r)
    router, keys = floor.router, floor.keys
    check = r.register_script(CHECKER)
    args = [keys.prefix, json.dumps(AGENTS), json.dumps([q.name for q in QUEUES]), keys.prefix + WATCHED]
    mine: list[str] = []
    gone: list[str] = []
    late: list[str] = []                     # hung up in the menu, then their menu answer came
    seen: Counter = Counter()                # what the scripts answered: the ground truth of the counters
    violations = 0
    for n in range(ops):
        floor.now = datetime.now(timezone.utc)        # one clock for every process
        op = rnd.choices(OPS, WEIGHTS)[0]
        agents, calls = _snapshot(r, keys)
        # mostly an agent the operation can act on (reserved: an offer to answer; busy: a leg; wrap-up)
        ready = [a for a, row in agents.items() if row[0] == WANTS.get(op)]
        # half the time one asked onto a call or on it beside its agent (consulted, three-way)
        parties = [a for a in ready if op != "wrapup" and agents[a][1] and calls[agents[a][1]][1] != a]
        ready = parties if parties and rnd.random() < 0.5 else ready
        agent = rnd.choice(ready if ready and rnd.random() < 0.7 else AGENTS)
        status, sid, rid = agents[agent]
        if op == "enqueue":
            sid, _ = floor.call(rnd.choice(QUEUES), sid=f"CA{seed:04d}{n:028d}")
            if floor.last_status == "queued":
                mine.append(sid)
                seen["enqueued"] += 1
            elif floor.last_status == "nobody":     # no one logged in could serve it: offered, overflowed
                seen["nobody"] += 1
        elif op == "status":
            router.set_status(agent, rnd.choice(["available", "available", "break", "offline"]), floor.now)
        elif op == "answer":
            if status == "reserved" and rid:    # a caller's offer, or one to join a call
                how = rnd.choice(["accept", "accept", "reject", "timeout"] + ["accept"] * 2 * (sid is not None))
                seen[f"answer_{router.answer_offer(rid, how, floor.now)[0]}"] += 1
        elif op == "progress":
            if status == "busy" and sid in calls:
                _progress(floor, rnd, agent, sid, calls[sid], seen)
        elif op == "hang_up" and mine:
            sid = mine.pop(rnd.randrange(len(mine)))
            seen["abandoned"] += router.call_gone(sid, floor.now)[0] in ("waiting", "offered")
            gone.append(sid)
        elif op == "late_turn":
            # a turn after the hang-up: the caller hung up (in line, or still in the menu) and the
            # menu answer that queues them comes later; it must not put them back in line
            if gone and rnd.random() < 0.5:
                sid = rnd.choice(gone)
            else:
                sid = f"CA{seed:04d}{n:028d}"
                r.hset(keys.call(sid), mapping={"from": "+14155550123", "status": "ivr"})
                router.call_gone(sid, floor.now)
                late.append(sid)
            floor.call(rnd.choice(QUEUES), sid=sid)
            if floor.last_status != "ended":
                violations += 1
                out.put(("violation", n, [f"the late turn of ended call {sid} was {floor.last_status}"]))
                break
        elif op == "wrapup":
            if sid and status == "wrapup":
                router.end_wrapup(agent, sid, floor.now)
        elif op == "assign" and mine:
            # a supervisor gives one of this process's callers (waiting or not any more) to the agent
            rid, _ = router.assign(rnd.choice(mine), agent, "sup", floor.now)
            seen["assign"] += rid is not None
        elif op == "control":
            live = [(s, c) for s, c in calls.items() if c[0] == "connected" and c[1]]
            if live:
                _control(floor, rnd, seed, n, agents, *rnd.choice(live), seen)
        problems = check(keys=[keys.events()], args=args)
        if problems:
            violations += 1
            out.put(("violation", n, [p.decode() for p in problems]))
            break
    out.put(("done", seed, seen, mine + gone, violations, late))


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
    results = [out.get(timeout=400) for _ in procs]
    for p in procs:
        p.join(30)
    violations = [r for r in results if r[0] == "violation"]
    assert not violations, violations[:3]
    total_ops = PROCESSES * OPS_PER_PROCESS
    assert total_ops >= 20_000
    seen = sum((r[2] for r in results), Counter())
    assert all(seen[op] >= least for op, least in EXERCISED.items()), seen

    # Wind down: every caller hangs up, every talk ends; then count the truth.
    calls = [sid for r in results for sid in r[3]]
    for sid in calls:
        floor.now = datetime.now(timezone.utc)
        seen["abandoned"] += floor.router.call_gone(sid, floor.now)[0] in ("waiting", "offered")
        if floor.acd(sid) == "leaving":         # hung up while connecting: the Dial's end says how it went
            _dial_end(floor, rnd, sid, 2.0, seen)
    outcomes, held, talked = {}, 0.0, 0.0
    for sid in calls:
        state = redis_client.hmget(floor.keys.call(sid), "acd", "outcome", "xfer", "hold_s", "talk_s")
        assert state[0] == b"ended" and state[2] is None, (sid, state)
        outcomes[sid] = state[1].decode()
        held, talked = held + float(state[3] or 0), talked + float(state[4] or 0)
    assert set(outcomes.values()) <= {"abandoned", "answered", "transferred"}
    assert sum(1 for o in outcomes.values() if o == "transferred") == seen["away"]   # ended: an outcome stays
    # the processes count on the real clock: today's buckets (both days', should the run cross midnight)
    totals: dict[str, float] = {}
    days = {floor.day(started): started, floor.day(datetime.now(timezone.utc)): datetime.now(timezone.utc)}
    for q in QUEUES:
        for at in days.values():
            floor.now = at
            for k, v in floor.stats(q.name).items():
                totals[k] = totals.get(k, 0) + v
    # A call's outcome is its last part's: a caller transferred to a queue may be answered again, or hang
    # up there. So the counts are checked against each script's own answer, which is exact: offered once
    # per queue entered, answered once per connect (connected, or a Dial completed after the hang-up),
    # abandoned once per hang-up while waiting or offered (or during a Dial that then failed).
    assert len(calls) == seen["enqueued"]
    assert totals["offered"] == len(calls) + seen["transfer_out"] + seen["nobody"]
    assert totals.get("answered", 0) == seen["answered"]
    assert totals.get("abandoned", 0) == seen["abandoned"]
    assert totals.get("transferred_in", 0) == seen["transfer_out"] + seen["complete"]
    assert totals.get("transferred_out", 0) == seen["transfer_out"] + seen["complete"] + seen["away"]
    assert totals.get("hold_s", 0) == pytest.approx(held, abs=1e-3) and held > 0    # each hold counted once
    assert totals.get("talk_s", 0) == pytest.approx(talked, abs=1e-3)
    assert totals.get("answered", 0) > 50 and totals.get("abandoned", 0) > 50     # the run exercised both
    for agent in AGENTS:
        assert floor.status(agent) in ("available", "break", "offline", "wrapup"), agent
    assert redis_client.zcard(floor.keys.queue("billing")) == 0
    assert not list(redis_client.scan_iter(match=floor.keys.parties("*"), count=1000))
    assert not [m for m in redis_client.zrange(floor.keys.timers(), 0, -1) if m.startswith(b"offer:")]
    late = [sid for r in results for sid in r[5]]
    assert len(late) > 100                   # the run exercised late turns
    assert all(redis_client.hget(floor.keys.call(sid), "acd") is None for sid in late)


def test_the_checker_sees_an_agent_on_two_calls_and_a_party_left_on_an_ended_call(redis_client):
    floor = Floor(redis_client)
    for agent, skills in (("a0", {"billing": 3}), ("a1", {"tech": 2}), ("a2", {"tech": 2})):
        floor.agent(agent, skills)
    sid = floor.talking(QUEUES[0], "a0")
    other = floor.talking(QUEUES[1], "a1", from_="+14155550999")
    rid, _ = floor.router.offer_party(sid, "a2", {}, "consult", "XF1", {"by": "a0", "kind": "agent"}, 15, floor.now)
    check = redis_client.register_script(CHECKER)

    def problems() -> str:
        args = [floor.keys.prefix, json.dumps(AGENTS), json.dumps([q.name for q in QUEUES])]
        return "\n".join(p.decode() for p in check(keys=[floor.keys.events()], args=args))

    assert problems() == ""
    redis_client.zrem(floor.keys.timers(), f"offer:{rid}")
    assert f"pending offer {rid} to a2 without its timer" in problems()
    redis_client.zadd(floor.keys.timers(), {f"offer:{rid}": 1})
    floor.router.answer(rid, "accept", floor.now)
    floor.router.party_leg(sid, "a2", "joined", floor.now)
    assert problems() == ""
    entry = redis_client.hget(floor.keys.parties(sid), "a2")
    redis_client.hset(floor.keys.parties(other), "a2", entry)          # a2 on two calls
    assert f"party a2 joined on {other} is busy on {sid}" in problems()
    redis_client.delete(floor.keys.parties(other))
    redis_client.hset(floor.keys.call(sid), "acd", "ended")             # an ended call keeps its consult
    assert f"ended call {sid} (ended) still has parties or transfer XF1" in problems()
    assert "busy agent a2 with call in ended" in problems()
