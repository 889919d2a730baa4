"""Twilio as it really delivers webhooks, at volume: `twiliosim load` twice against one service started
as `make run` starts it, first with every webhook delivered at once and in order (the baseline), then
with the simulator's chaos (late, out of order, repeated, dropped status callbacks, timed-out answers),
the same callers and talk times. Each run ends with the service compared to the callers' truth
(twiliosim/truth.py): ghosts, double bookings, lost records, today's counters.

    .venv/bin/python -m bench.chaos                       # 1 000 calls each, ~4 min
    .venv/bin/python -m bench.chaos --calls 300 --no-baseline

PASS (exit 0): both runs with 0 ghosts, 0 double bookings, 0 lost or wrong records and counters equal
to the callers'; 2: the service disagreed with the callers; 1: a run failed. The ratios (chaos /
baseline: ASA, service level, answered) say what the faults cost the callers, not whether it passed.
"""
from __future__ import annotations

import argparse
import sys
import time

from twiliosim import Simulator
from twiliosim.chaos import DEFAULTS, Chaos, ChaosDice
from twiliosim.load import LoadError, run_load
from twiliosim.rest import RestServer

from .service import Service

SID, TOKEN, ADMIN = "AC" + "c" * 32, "bench-chaos-auth-token-0123456789", "bench-chaos-admin"
NUMBER = "+15005550006"


def parse(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=4.0, help="arrivals per simulated second (4)")
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--handle", type=float, default=3.0, help="mean talk time, simulated s (3)")
    parser.add_argument("--patience", type=float, default=30.0, help="mean patience in the queue, simulated s (30)")
    parser.add_argument("--time-scale", type=float, default=0.25)
    parser.add_argument("--seed", default="1")
    parser.add_argument("--reconcile", default="10", help="the service's RECONCILE_EVERY_S (10)")
    parser.add_argument("--no-baseline", action="store_true", help="the chaos run only")
    for name, value in DEFAULTS.items():
        parser.add_argument(f"--{name}", type=float, default=value, help=f"chaos: P({name}) ({value:g})")
    return parser.parse_args(argv)


def one_run(url: str, sim: Simulator, args, run_id: str):
    return run_load(url, ADMIN, sim, NUMBER, rate_per_s=args.rate, calls=args.calls, agents=args.agents,
                    handle_s=args.handle, patience_s=args.patience, seed=args.seed, run_id=run_id, check=True,
                    settle_s=3 * float(args.reconcile) + 15)


def ratio(a, b) -> str:
    return f"{a / b:.2f}" if a is not None and b else "-"


def main(argv=None) -> int:
    args = parse(argv)
    chaos = Chaos(seed=args.seed, **{name: getattr(args, name) for name in DEFAULTS})
    sim = Simulator(SID, TOKEN, time_scale=args.time_scale)
    with RestServer(sim) as rest:
        service = Service(2, account_sid=SID, auth_token=TOKEN, admin_token=ADMIN, name="bench-chaos",
                          env={"TWILIO_API_URL": rest.url, "RECONCILE_EVERY_S": args.reconcile})
        reports = {}
        try:
            url = f"http://127.0.0.1:{service.port}"
            if not args.no_baseline:
                print(f"baseline: {args.calls} calls, webhooks delivered at once and in order ...", flush=True)
                reports["baseline"] = one_run(url, sim, args, "base")
            sim.chaos = ChaosDice(chaos)
            print(f"chaos: {args.calls} calls, {chaos} ...", flush=True)
            started = time.monotonic()
            reports["chaos"] = one_run(url, sim, args, "chaos")
            print(f"chaos run: {time.monotonic() - started:.0f} s real")
        except LoadError as exc:
            print(f"bench.chaos: INVALID RUN: {exc}", file=sys.stderr)
            return 1
        finally:
            sim.shutdown()
            service.stop()
    for name, report in reports.items():
        print(f"\n== {name} ==\n{report.table()}")
    base, hit = reports.get("baseline"), reports["chaos"]
    if base is not None:
        print(f"\nchaos / baseline: answered {ratio(hit.answered, base.answered)}, ASA {ratio(hit.asa_s, base.asa_s)}, "
              f"service level {ratio(hit.service_level, base.service_level)}")
    agreed = all(r.truth is not None and r.ok for r in reports.values())
    print("PASS: the service agreed with the callers in every run" if agreed
          else "BELOW TARGET: the service disagreed with the callers (see above)")
    return 0 if agreed else 2


if __name__ == "__main__":
    sys.exit(main())
