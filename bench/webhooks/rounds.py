"""Measuring: the pre-flight check of each server and one round of load with its CPU accounting."""
from __future__ import annotations

import redis

from bench.webhooks.client import Result, drive, post
from bench.webhooks.meters import machine_busy, redis_cpu, redis_shared_with
from bench.webhooks.scenario import EXPECT, KNOWN_CALLER, BenchError
from bench.webhooks.under_test import Server


def preflight(server: Server, r: redis.Redis, workspace: str | None) -> None:
    """One call checked in full, and a forged signature that must be refused."""
    incoming, menu, sid = server.caller.call(KNOWN_CALLER)
    status, ctype, body = post(server.port, incoming)
    if status != 200 or not ctype.startswith("text/xml") or EXPECT[0] not in body:
        raise BenchError(f"{server.name}: /voice/incoming answered {status} {ctype}: {body[:300]!r}")
    if workspace and b"Hello Dana" not in body:
        raise BenchError(f"{server.name}: the CRM contact was not greeted by name: {body[:300]!r}")
    status, ctype, body = post(server.port, menu)
    if status != 200 or not ctype.startswith("text/xml") or EXPECT[1] not in body:
        raise BenchError(f"{server.name}: the menu step answered {status} {ctype}: {body[:300]!r}")
    if workspace:
        from store.keys import Keys
        state = r.hget(Keys(workspace).call(sid), "status")
        if state != b"queued":
            raise BenchError(f"{server.name}: after the menu step the call's status is {state!r}, not queued")
    server.began += 1
    forged = incoming.replace(b"X-Twilio-Signature: ", b"X-Twilio-Signature: x", 1)
    status, _, _ = post(server.port, forged)
    if status != 403:
        raise BenchError(f"{server.name}: a forged signature got HTTP {status}, not 403")


def measure(server: Server, r: redis.Redis, seconds: float, concurrency: int, reconnect_every: int,
            record: bool) -> Result:
    # Sign this round's calls before the clock starts, for both servers alike, so that during
    # the round the client only moves bytes and leaves the CPU to the servers.
    rate = server.rate_estimate or 200.0
    n = int(rate * seconds * 1.5) + 4 * concurrency
    calls = [server.caller.call() for _ in range(n)]
    cpu0, rcpu0, m0 = server.worker_cpu(), redis_cpu(r), machine_busy()
    res = drive(server.port, calls, concurrency, seconds, reconnect_every)
    cpu1, rcpu1, m1 = server.worker_cpu(), redis_cpu(r), machine_busy()
    shared = redis_shared_with(r, res.elapsed + 1) if record else []
    server.began += res.incoming_ok
    if res.elapsed > 0:
        server.rate_estimate = max(server.rate_estimate, res.calls / res.elapsed)
    if record:
        server.results.append(res)
        per_worker = [cpu1[p] - cpu0[p] for p in cpu1 if p in cpu0]
        server.cpu.append((sum(per_worker), rcpu1 - rcpu0))
        # CPU the machine spent on anything but this server, Redis and the client: other
        # processes competing with the round (the figure to look at when rounds disagree).
        ours = sum(per_worker) + (rcpu1 - rcpu0) + res.client_cpu
        server.other.append(max(0.0, (m1[0] - m0[0]) - ours) / max(m1[1] - m0[1], 1e-9))
        server.redis_shared.append(shared)
        server.busiest.append(max(per_worker) / sum(per_worker) if sum(per_worker) else float("nan"))
    return res
