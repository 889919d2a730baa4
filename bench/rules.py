"""Routing rules' cost on the webhook path (contactcenter/rules.py, ivr/facts.py), each against a
baseline measured in the same run:

    .venv/bin/python -m bench.rules [--redis-url redis://127.0.0.1:6379/14] [--n 20000]

  * evaluate: one route node's rules for one caller (the conditions compiled once per config; each
    run hands the interpreter only the attributes it reads), for the demo's node and for a node of
    ten rules where only the last holds (the worst case: every rule runs) — p50 and p99 against
    an `hours` node's decision (opening hours and holidays: the cheapest node that decides);
  * turn: the IVR engine entering the demo's members' flow through its route node to the menu, the context
    already read, against the same flow started at the menu (what the route node adds to a turn);
  * read: what the call path reads for the rules (the caller's other calls, the choices, the queues'
    figures: one read-only script) against a Redis PING: both one round trip.

Targets: evaluating a node's rules p99 < 1 ms. Exit status 0 when met, 2 otherwise. The Redis
database given is flushed before and after.
"""
from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import redis
import yaml

from acd.routing import Router
from acd.scripts import Scripts
from acd.service import AcdService
from contactcenter import rules
from contactcenter.config import parse_config
from ivr import flow as engine
from ivr.facts import Facts
from store.keys import Keys

DEMO = Path(__file__).resolve().parent.parent / "config" / "demo.yaml"
TARGET_P99_MS = 1.0
TEN = [f"queues.tech.waiting > {10 + i} && caller.region == 'GB'" for i in range(5)] + [
    "has(contact.plan) && contact.plan == 'gold' && now.hour < 8", "call.calls_today >= 5",
    "contact.account_value > 1000000.0", "'tech_q' in call.choices && now.weekday == 'sun'",
    "caller.local_hour >= 9 && caller.local_hour < 18 && contact.tier == 'vip'"]


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1e6)
    return out


def summary(name: str, times: list[float], base: list[float] | None = None) -> float:
    p50, p99 = statistics.median(times), statistics.quantiles(times, n=100)[98]
    line = f"{name:<44} p50 {p50:8.1f} us  p99 {p99:8.1f} us"
    if base:
        line += f"  x{p50 / statistics.median(base):6.2f} p50 of its baseline"
    print(line)
    return p99


def config():
    data = yaml.safe_load(DEMO.read_text())
    data = copy.deepcopy(data)
    data["flows"]["members"]["nodes"]["ten"] = {"route": [{"when": w, "then": "menu"} for w in TEN], "else": "menu"}
    data["flows"]["members"]["nodes"]["triage"]["route"].append({"when": "false", "then": "ten"})
    return parse_config(data, str(DEMO))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.rules", description=__doc__.split("\n\n")[0])
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    ap.add_argument("--n", type=int, default=20000, help="evaluations per measure (default 20000)")
    args = ap.parse_args(argv)
    cc = config()
    now = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)      # a Monday, 10:00 in New York
    r = redis.Redis.from_url(args.redis_url)
    r.flushdb()
    try:
        keys = Keys(cc.workspace)
        acd = AcdService(cc, r, keys, Router(Scripts(r, keys, cc.timezone)), twilio=lambda: None, public_url=None)
        facts = Facts(cc, acd.floor, lambda number: {"name": "Pat Doe", "tier": "gold",
                                                             "account_value": 4200.0, "plan": "gold"})
        flow = cc.flows["members"]
        triage = [w for w, _ in flow.nodes["triage"].rules]
        every = tuple(TEN) + tuple(triage)
        call = engine.Call("CAbench", "+442071838750", "+15005550009", flow, now, facts=facts.of)
        context = call.context(every)
        assert rules.first_holding(TEN, context) is None and TEN[-1]
        context["contact"]["tier"] = "vip"
        context["caller"]["local_hour"] = 10
        assert rules.first_holding(TEN, context) == len(TEN) - 1          # only the last holds
        hours = next(iter(cc.hours.values()))
        base = timed(lambda: hours.is_open(now), args.n)
        summary("baseline: an hours node's decision", base)
        worst = max(summary(f"evaluate: the members' triage ({len(triage)} rules)", timed(
                        lambda: rules.first_holding(triage, context), args.n), base),
                    summary("evaluate: ten rules, the last holds", timed(
                        lambda: rules.first_holding(TEN, context), args.n), base))
        at_menu = timed(lambda: engine._enter(cc, _fresh(call, context), "menu", None, None), args.n // 4)
        summary("baseline: a turn started at the menu", at_menu)
        summary("turn: through the route node to the menu", timed(
            lambda: engine._enter(cc, _fresh(call, context, triage), "triage", None, None), args.n // 4), at_menu)
        ping = timed(r.ping, args.n // 10)
        summary("baseline: a Redis PING", ping)
        summary("read: the rules' context (one round trip)", timed(
            lambda: facts.of(engine.Call("CAbench", "+442071838750", "+15005550009", flow, now), every),
            args.n // 10), ping)
    finally:
        r.flushdb()
    ok = worst < TARGET_P99_MS * 1000
    print(f"evaluating a node's rules: p99 {worst:.1f} us (target < {TARGET_P99_MS * 1000:.0f} us): "
          f"{'met' if ok else 'NOT met'}")
    return 0 if ok else 2


def _fresh(call: engine.Call, context: dict, context_for=()) -> engine.Call:
    fresh = engine.Call(call.sid, call.from_number, call.to_number, call.flow, call.now)
    fresh._context, fresh._read_for = context, frozenset(context_for)
    return fresh


if __name__ == "__main__":
    sys.exit(main())
