"""The run: `python -m bench.webhooks` (see bench/webhooks/__init__.py and bench/README.md)."""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import redis

import bench.webhooks
from bench.webhooks.meters import quiet_check
from bench.webhooks.report import print_foot, print_head, print_row, print_totals, stored_problems, verdict
from bench.webhooks.rounds import measure, preflight
from bench.webhooks.scenario import ADMIN_TOKEN, INCOMING_PATH, MENU_PATH, BenchError
from bench.webhooks.under_test import Server, check_redis_url, log_agents_in, start_servers


def _sigterm(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.webhooks", description=bench.webhooks.__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=8, help="measured rounds per server (default 8)")
    ap.add_argument("--seconds", type=float, default=3.0, help="length of one round (default 3)")
    ap.add_argument("--warmup", type=float, default=2.0, help="unmeasured load per server first (default 2 s)")
    ap.add_argument("--concurrency", type=int, default=16,
                    help="keep-alive connections, each one call at a time (default 16)")
    ap.add_argument("--reconnect-every", type=int, default=10, metavar="CALLS",
                    help="replace each connection after this many calls, 0: never (default 10)")
    ap.add_argument("--workers", type=int, default=2, help="WEB_CONCURRENCY for both servers (default 2)")
    ap.add_argument("--known-share", type=float, default=0.25,
                    help="share of calls from the demo CRM contact, greeted by name (default 0.25)")
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/14",
                    help="loopback Redis with a dedicated database number; flushed before and after")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, SQLite)")
    ap.add_argument("--say", metavar="TEXT", help="answer the menu by speech, e.g. \"I want to pay my bill\" "
                    "(the speech matcher on the path) instead of pressing 1")
    ap.add_argument("--route", action="store_true", help="a route node before the menu: four routing rules "
                    "reading the caller, the CRM contact, the call's history, the clock and billing's figures, "
                    "none holding (every rule runs on every call)")
    args = ap.parse_args(argv)
    if args.rounds < 1 or args.seconds <= 0 or args.concurrency < 1 or args.workers < 1:
        ap.error("rounds, seconds, concurrency and workers must be positive")
    if args.reconnect_every < 0:
        ap.error("--reconnect-every is 0 (never) or a number of calls")
    if not 0 <= args.known_share <= 1:
        ap.error("--known-share is between 0 and 1")
    return args


def introduce(args: argparse.Namespace, servers: list[Server], r: redis.Redis, cc, seeded: str) -> tuple[float, float]:
    """The run's settings, the agents logged in, and how busy the machine and Redis are before the rounds."""
    load = os.getloadavg()
    print(f"callrouter webhook bench: {args.workers} gunicorn gevent workers per server, "
          f"{args.concurrency} connections, {args.rounds} rounds x {args.seconds:g} s, "
          f"{os.cpu_count()} CPUs, load average {load[0]:.2f}")
    agents = log_agents_in(servers[0], [a["id"] for a in cc.agents], ADMIN_TOKEN)
    answer = f"SpeechResult={args.say!r}" if args.say else "Digits=1"
    print(f"one call = signed POST {INCOMING_PATH} + signed POST {MENU_PATH} ({answer}); "
          f"{args.known_share:.0%} of callers are the CRM contact"
          f"{'; a route node of four rules before the menu' if args.route else ''}")
    print(f"{seeded}; agents logged in: {agents}")
    idle_machine, idle_redis = quiet_check(r)
    print(f"before the rounds, with nothing sent: machine {idle_machine:.0%} busy, "
          f"Redis using {idle_redis:.0%} of a CPU")
    return idle_machine, idle_redis


def warm_up(servers: list[Server], r: redis.Redis, args: argparse.Namespace) -> None:
    for s in servers:
        # Until --warmup seconds have passed; this also sizes the rounds' pre-signed calls.
        warmed = 0.0
        while warmed < args.warmup:
            warm = measure(s, r, args.warmup - warmed, args.concurrency, args.reconnect_every, record=False)
            if warm.error_count:
                raise BenchError(f"{s.name}: errors during warm-up: {warm.errors}")
            warmed += max(warm.elapsed, 0.05)


def run_rounds(servers: list[Server], r: redis.Redis, args: argparse.Namespace) -> None:
    print_head()
    for i in range(args.rounds):
        order = servers if i % 2 == 0 else servers[::-1]   # ABBA: neither always goes first
        for s in order:
            res = measure(s, r, args.seconds, args.concurrency, args.reconnect_every, record=True)
            print_row(str(i + 1), s, res, s.cpu[-1], s.other[-1], bool(s.redis_shared[-1]))
    print_foot()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Ctrl-C, kill and a closed terminal all end the run through the same clean-up, even
    # when the bench was started in the background with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _sigterm)
    signal.signal(signal.SIGHUP, _sigterm)
    tmp = Path(tempfile.mkdtemp(prefix="callrouter-bench-"))
    servers: list[Server] = []
    r: redis.Redis | None = None
    try:
        r = check_redis_url(args.redis_url)
        r.flushdb()
        cc, seeded = start_servers(tmp, args.redis_url, args.workers, args.known_share, servers, args.say,
                                   args.route)
        idle_machine, idle_redis = introduce(args, servers, r, cc, seeded)
        preflight(servers[0], r, cc.workspace)
        preflight(servers[1], r, None)
        warm_up(servers, r, args)
        run_rounds(servers, r, args)
        problems = stored_problems(servers, r, cc.workspace)
        ratio, pairs, errors = print_totals(servers)
        return verdict(servers, ratio, pairs, errors, problems, args.rounds, idle_machine, idle_redis)
    except (BenchError, OSError, redis.RedisError) as exc:
        print(f"bench failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        for s in servers:
            print(f"--- {s.name} log tail ---\n{s.log_tail()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; stopping the servers", file=sys.stderr)
        return 130
    finally:
        clean_up(servers, r, args, tmp)


def clean_up(servers: list[Server], r: redis.Redis | None, args: argparse.Namespace, tmp: Path) -> None:
    """Stop the servers, flush the Redis database, remove the temporary directory (unless --keep)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # a second Ctrl-C must not cut the clean-up short
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for s in servers:
        s.stop()
    if r is not None:
        try:
            r.flushdb()
        except redis.RedisError as exc:
            print(f"could not flush {args.redis_url}: {exc}", file=sys.stderr)
        r.close()
    if args.keep:
        print(f"kept {tmp}", file=sys.stderr)
    else:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
