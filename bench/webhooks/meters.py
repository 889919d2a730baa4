"""CPU meters: the whole machine's (from /proc/stat) and the Redis server's (INFO cpu), and who else
uses the Redis server; they tell a quiet machine from a busy one."""
from __future__ import annotations

import os
import time

import redis


def machine_busy() -> tuple[float, float]:
    """(busy CPU seconds, elapsed CPU seconds) of the whole machine so far, from /proc/stat."""
    with open("/proc/stat") as fh:
        ticks = [int(x) for x in fh.readline().split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)     # idle + iowait
    total = sum(ticks[:8])                                       # guest time is already in user
    return (total - idle) / tick, total / tick


def quiet_check(r: redis.Redis, seconds: float = 1.0) -> tuple[float, float]:
    """(share of the machine busy, share of one CPU used by Redis) while the bench sends nothing."""
    m0, rc0 = machine_busy(), redis_cpu(r)
    time.sleep(seconds)
    m1, rc1 = machine_busy(), redis_cpu(r)
    return (m1[0] - m0[0]) / max(m1[1] - m0[1], 1e-9), (rc1 - rc0) / seconds


def redis_shared_with(r: redis.Redis, within_s: float) -> list[str]:
    """Other Redis databases whose clients sent commands in the last `within_s` seconds: someone
    else loading the Redis server, whose CPU the `redis us` column cannot tell apart from ours."""
    ours = str(r.connection_pool.connection_kwargs.get("db", 0))
    try:
        clients = r.client_list()
    except redis.RedisError:
        return []
    return sorted({c.get("db", "?") for c in clients
                   if c.get("db") != ours and int(c.get("idle", "999999")) <= within_s})


def redis_cpu(r: redis.Redis) -> float:
    info = r.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def count_keys(r: redis.Redis, pattern: str) -> int:
    return sum(1 for _ in r.scan_iter(match=pattern, count=2000))
