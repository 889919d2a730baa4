"""What the rounds measured: the table, the totals, the check of the calls left in Redis, the machine's
quiet and the verdict (the exit status)."""
from __future__ import annotations

import statistics

import redis

from bench.webhooks.client import Result
from bench.webhooks.meters import count_keys
from bench.webhooks.scenario import BASELINE_KEYS, TARGET
from bench.webhooks.under_test import Server


def per_call_us(seconds: float, calls: int) -> float:
    return seconds / calls * 1e6 if calls else float("nan")


def print_row(rnd: str, server: Server, res: Result, cpu: tuple[float, float] | None, other: float,
              redis_shared: bool) -> None:
    secs = res.elapsed or float("nan")
    w, rc = cpu if cpu else (float("nan"), float("nan"))
    print(f"{rnd:>5}  {server.name:<8} {res.calls:>6} {res.elapsed:>6.2f} {res.calls / secs:>8.1f} "
          f"{res.requests / secs:>8.1f} {res.pct(0.5) * 1e3:>7.2f} {res.pct(0.95) * 1e3:>7.2f} "
          f"{per_call_us(w, res.calls):>8.0f} {per_call_us(rc, res.calls):>8.0f} "
          f"{per_call_us(res.client_cpu, res.calls):>8.0f} {other:>5.0%}{'R' if redis_shared else ' '} "
          f"{res.error_count:>6}", flush=True)


def print_head() -> None:
    print()
    print(f"{'round':>5}  {'server':<8} {'calls':>6} {'secs':>6} {'calls/s':>8} {'req/s':>8} "
          f"{'p50 ms':>7} {'p95 ms':>7} {'srv us':>8} {'redis us':>8} {'clnt us':>8} {'other':>6} {'errors':>6}")


def print_foot() -> None:
    print("  (srv us, redis us, clnt us: CPU microseconds per call in the gunicorn workers, the Redis\n"
          "   server and this client; other: share of the machine's CPU taken by other processes,\n"
          "   R: clients of other databases used the same Redis server during the round)")


def stored_problems(servers: list[Server], r: redis.Redis, workspace: str) -> list[str]:
    """Every call a server began must have left its state in Redis."""
    from store.keys import Keys
    stored = {"service": count_keys(r, Keys(workspace).call("*")), "baseline": count_keys(r, BASELINE_KEYS)}
    problems = []
    for s in servers:
        if stored[s.name] != s.began:
            problems.append(f"{s.name}: {s.began} calls answered but {stored[s.name]} call hashes in Redis")
    return problems


def print_totals(servers: list[Server]) -> tuple[float, list[float], dict[str, int]]:
    """Medians and CPU per call of each server; (throughput ratio, per-round ratios, errors per server)."""
    service, baseline = servers
    med = {s.name: statistics.median(x.calls / x.elapsed if x.elapsed else 0 for x in s.results)
           for s in servers}
    med_req = {s.name: statistics.median(x.requests / x.elapsed if x.elapsed else 0 for x in s.results)
               for s in servers}
    cpu = {s.name: sum(c[0] for c in s.cpu) / max(1, sum(x.calls for x in s.results)) * 1e6 for s in servers}
    rcpu = {s.name: sum(c[1] for c in s.cpu) / max(1, sum(x.calls for x in s.results)) * 1e6 for s in servers}
    pairs = [a.calls / a.elapsed / (b.calls / b.elapsed)
             for a, b in zip(service.results, baseline.results, strict=True) if a.elapsed and b.elapsed and b.calls]
    errors = {s.name: sum(x.error_count for x in s.results) for s in servers}
    ratio = med["service"] / med["baseline"] if med["baseline"] else 0.0

    print()
    for s in servers:
        print(f"{s.name:<8} median {med[s.name]:8.1f} calls/s ({med_req[s.name]:8.1f} req/s), "
              f"{cpu[s.name]:6.0f} us worker CPU + {rcpu[s.name]:4.0f} us Redis CPU per call, "
              f"{errors[s.name]} errors")
    for s in servers:
        print(f"{s.name:<8} busiest worker's share of worker CPU: "
              f"{' '.join(f'{b:.0%}' for b in s.busiest)}; "
              f"connections replaced: {sum(x.rotations for x in s.results)}, "
              f"closed by the server: {sum(x.reconnects for x in s.results)}")
    if pairs:
        print(f"per-round ratios: {' '.join(f'{p:.2f}' for p in pairs)}")
    if cpu["service"]:
        print(f"worker CPU per call, baseline / service: {cpu['baseline'] / cpu['service']:.2f}")
    return ratio, pairs, errors


def verdict(servers: list[Server], ratio: float, pairs: list[float], errors: dict[str, int], problems: list[str],
            rounds: int, idle_machine: float, idle_redis: float) -> int:
    """Was the machine quiet, do the two estimates agree, were there errors: print the verdict, return the
    exit status."""
    busy = max(statistics.median(s.other) for s in servers)
    # Rounds in which other clients used the same Redis and Redis worked noticeably harder
    # per call than in this server's quietest round: someone else was loading Redis.
    disturbed = []
    for s in servers:
        per_call = [c[1] / x.calls if x.calls else 0.0 for c, x in zip(s.cpu, s.results, strict=True)]
        floor = min(per_call)
        disturbed += [dbs for dbs, pc in zip(s.redis_shared, per_call, strict=True) if dbs and pc > 1.5 * floor]
    shared = sorted({db for dbs in disturbed for db in dbs})
    shared_rounds = len(disturbed)
    quiet = not (busy > 0.15 or idle_machine > 0.15 or idle_redis > 0.05 or shared)
    if not quiet:
        also = (f";\n  in {shared_rounds} of {2 * rounds} rounds clients of Redis database(s) "
                f"{', '.join(shared)} were active and Redis CPU per call rose over 1.5x") if shared else ""
        print(f"WARNING: the machine was not quiet: other processes took a median {busy:.0%} of the CPU\n"
              f"  during the rounds (before them: machine {idle_machine:.0%} busy, Redis at "
              f"{idle_redis:.0%} of a CPU){also}.\n"
              "  A shared bottleneck pulls the ratio toward 1; rerun on a quiet machine.")
    # Cross-check: the two servers of one round ran seconds apart, so the median of the
    # per-round ratios shrugs off a disturbance that hit some rounds of one side only.
    pair_median = statistics.median(pairs) if pairs else 0.0
    print(f"cross-check: median of the per-round ratios = {pair_median:.2f}")
    verdict = "PASS" if ratio >= TARGET else "BELOW TARGET"
    inconclusive = not quiet and abs(ratio - pair_median) > 0.1 * max(ratio, pair_median)
    if inconclusive:
        verdict = "INCONCLUSIVE (the machine was busy and the two estimates disagree: rerun)"
    if any(errors.values()) or problems:
        for p in problems:
            print(f"INVALID: {p}")
        for s in servers:
            for kind, n in {k: v for x in s.results for k, v in x.errors.items()}.items():
                print(f"INVALID: {s.name}: {kind}: {n}")
        verdict = "INVALID RUN (errors)"
    print(f"throughput ratio service/baseline = {ratio:.2f}  (target >= {TARGET}, aim 1.0): {verdict}")
    if verdict.startswith("INVALID"):
        for s in servers:
            print(f"--- {s.name} log tail ---\n{s.log_tail()}")
        return 1
    if inconclusive:
        return 3
    return 0 if ratio >= TARGET else 2
