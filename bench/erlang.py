"""The ACD against Erlang C: a single-skill queue under a Poisson load, measured end to end.

    .venv/bin/python -m bench.erlang                     # starts the service itself; about 5 minutes
    .venv/bin/python -m bench.erlang --calls 2000 --seed 2
    .venv/bin/python -m bench.erlang --url http://127.0.0.1:8000 --api-port 8790   # a running service

It runs `twiliosim.load.run_load`: `--agents` agents (default 10) with skill billing, callers
pressing 1 (the billing queue), exponential talk times of mean `--handle` simulated seconds, Poisson
arrivals at `--erlangs / --handle` per simulated second, callers who never hang up (Erlang C knows
no abandonment), wrap-up 0, agents accepting every offer at once. Then it prints the measured wait
for an agent (queue entry -> offer) and its service level beside

  * Erlang C for the measured load: the arrival rate into the queue and the agents' time per call
    (talk plus what connecting and hanging up cost, which the queue sees as handle time);
  * Erlang C for the nominal load (rate and talk time asked for);
  * the same sample (measured queue entries and agent times) replayed through an ideal
    first-come-first-served queue with instant routing: the run's own yardstick, free of sampling
    noise (a single 1000-call run of an M/M/10 queue at 80 % scatters around Erlang C's ASA by
    -55 %/+65 % between the 10th and 90th percentiles, even when perfectly served),

with the relative differences, against a 10 % target, and how far chance alone spreads runs of this
size (ideal M/M/c runs at the measured load). The service level target is `--target` (default
handle/2, where the Erlang C curve is steep enough to discriminate).

Time scale: 0.5 real s per simulated s by default. Each call costs the agent some real milliseconds
beyond its talk (SSE, accept, REST redirect, <Dial>, status callbacks, wrap-up POST: about 50 ms
here), which count 1/time-scale over in simulated seconds: at 0.5 they add about 2.5 % to a 4 s
handle, at 0.25 about 9 %, and near 80-90 % occupancy Erlang C is very sensitive to the load.

When it starts the service itself: `python -m service.serve` as in tests/test_e2e_service.py, with a
copy of config/demo.yaml whose hours are always open, a fresh SQLite database in a temporary
directory, the service's own embedded Redis in that directory (REDIS_URL unset: other test runs that
FLUSHDB the shared Redis's databases cannot touch it; `--redis-url` to use another, flushed before and
after), and the simulator's REST stand-in as TWILIO_API_URL. Everything talks over 127.0.0.1 (the
service's gunicorn itself binds 0.0.0.0, as its Procfile says) and everything started is stopped,
also on failure, Ctrl-C or SIGTERM. With `--url`, start the service with TWILIO_API_URL pointing at
http://127.0.0.1:<--api-port> and the same TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN as this script's
environment (and ADMIN_TOKEN as `--admin-token`).

A single run's raw ASA is mostly luck, so the verdict uses a control variate: measured - replay +
Erlang C (measured load), i.e. Erlang C plus what the ACD itself adds to this sample's waits; the raw
figures and their chance band are printed too.

Not a test: pytest does not collect it. Exit status 0 when the measured figures are within the
target of the replay and, luck removed, of Erlang C (measured load), 2 when not, 1 when the run failed.
"""
from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import redis
import yaml

from bench.service import REPO, free_port, start_serving, stop_serving, wait_healthy
from erlang import fifo_waits
from twiliosim import Simulator
from twiliosim.load import LoadError, progress_bar, run_load
from twiliosim.rest import RestServer

ACCOUNT_SID = "AC" + "e" * 32
AUTH_TOKEN = "bench-erlang-auth-token-0123456789"
ADMIN_TOKEN = "bench-erlang-admin"
NUMBER = "+15005550006"
TARGET = 0.10


class LocalService:
    """`python -m service.serve` on 127.0.0.1 with an always-open copy of the demo config."""

    def __init__(self, api_url: str, redis_url: str | None, *, account_sid: str = ACCOUNT_SID,
                 auth_token: str = AUTH_TOKEN, admin_token: str = ADMIN_TOKEN, workers: int = 2, keep: bool = False):
        self.api_url, self.redis_url = api_url, redis_url
        self.account_sid, self.auth_token, self.admin_token = account_sid, auth_token, admin_token
        self.workers, self.keep = workers, keep
        self.proc = None
        self.tmp: Path | None = None
        self.url = ""
        self.log: Path | None = None

    def __enter__(self) -> "LocalService":
        self.tmp = tmp = Path(tempfile.mkdtemp(prefix="bench-erlang-"))
        config = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
        for name in config.get("hours", {}):
            config["hours"][name] = {"timezone": "UTC", "weekly": {"mon-sun": "00:00-24:00"}}
        (tmp / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
        if self.redis_url:
            redis.Redis.from_url(self.redis_url).flushdb()
        port = free_port()
        env = {**os.environ, "PORT": str(port),
               "DATABASE_URL": f"sqlite:///{tmp / 'instance' / 'callrouter.db'}",
               "TWILIO_ACCOUNT_SID": self.account_sid, "TWILIO_AUTH_TOKEN": self.auth_token,
               "CALLROUTER_CONFIG": str(tmp / "config.yaml"), "CALLROUTER_INSTANCE": str(tmp / "instance"),
               "ADMIN_TOKEN": self.admin_token, "SECRET_KEY": "bench-erlang", "WEB_CONCURRENCY": str(self.workers),
               "TWILIO_API_URL": self.api_url, "LOG_LEVEL": "warning"}
        for name in ("PUBLIC_URL", "GUNICORN_CMD_ARGS", "REDIS_URL"):
            env.pop(name, None)
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url      # else the service starts its embedded Redis in the instance
        self.log = tmp / "service.log"
        self.proc = start_serving(env, self.log)
        self.url = f"http://127.0.0.1:{port}"
        if not wait_healthy(self.proc, port, 60):
            tail = self.log.read_text()[-3000:]
            self.__exit__(None, None, None)
            raise RuntimeError(f"the service did not start:\n{tail}")
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            stop_serving(self.proc, 20)
        self.proc = None
        if self.tmp is not None:
            # The service stops its embedded Redis on the way out; make sure of it.
            pid_file = self.tmp / "instance" / "redis.pid"
            try:
                os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
            except (OSError, ValueError):
                pass
        if self.redis_url:
            try:
                redis.Redis.from_url(self.redis_url).flushdb()
            except redis.RedisError:
                pass
        if self.tmp is not None:
            if self.keep:
                print(f"bench/erlang.py: kept {self.tmp} (service.log)", file=sys.stderr)
            else:
                shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None


def sampling_band(calls: int, agents: int, rate: float, aht: float, target: float, runs: int = 400,
                  seed: int = 12345) -> tuple[list[float], list[float]]:
    """ASA and service level of `runs` ideal M/M/c runs of `calls` callers each (sorted): how far a single
    perfectly served run of this size lands from Erlang C by chance alone."""
    rng = random.Random(seed)
    asas, sls = [], []
    for _ in range(runs):
        t, arrivals = 0.0, []
        for _ in range(calls):
            t += rng.expovariate(rate)
            arrivals.append(t)
        waits = fifo_waits(arrivals, [rng.expovariate(1 / aht) for _ in arrivals], agents)
        asas.append(sum(waits) / calls)
        sls.append(sum(1 for w in waits if w <= target) / calls)
    return sorted(asas), sorted(sls)


def rank(sorted_values: list[float], x: float) -> float:
    return sum(1 for v in sorted_values if v <= x) / len(sorted_values)


def rel(measured: float | None, reference: float | None) -> float | None:
    if measured is None or reference is None or reference == 0 or math.isinf(reference):
        return None
    return (measured - reference) / reference


def fmt_rel(x: float | None) -> str:
    return "-" if x is None or math.isnan(x) else f"{100 * x:+.1f} %"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="a running service (default: start one)")
    parser.add_argument("--api-port", type=int, default=0,
                        help="port of the REST stand-in (with --url: where the service's TWILIO_API_URL points)")
    parser.add_argument("--admin-token", default=None, help="with --url (default: ADMIN_TOKEN)")
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--erlangs", type=float, default=8.0, help="offered load (default 8)")
    parser.add_argument("--handle", type=float, default=4.0, help="mean talk time, simulated s (default 4)")
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--target", type=float, default=None, help="service level target, s (default handle/2)")
    parser.add_argument("--time-scale", type=float, default=0.5, help="real s per simulated s (default 0.5)")
    parser.add_argument("--answer-after", type=float, default=0.0,
                        help="softphone answer delay, simulated s (default 0: the agent answers as it rings)")
    parser.add_argument("--seed", default="1")
    parser.add_argument("--redis-url", default=None,
                        help="Redis for the service it starts (FLUSHDB before and after); default: the service's "
                             "embedded Redis in its temporary instance directory, shared with nobody")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of the service it starts")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (service log)")
    args = parser.parse_args(argv)
    rate = args.erlangs / args.handle
    target = args.target if args.target is not None else args.handle / 2

    account_sid = os.environ.get("TWILIO_ACCOUNT_SID", ACCOUNT_SID) if args.url else ACCOUNT_SID
    auth_token = os.environ.get("TWILIO_AUTH_TOKEN", AUTH_TOKEN) if args.url else AUTH_TOKEN
    sim = Simulator(account_sid, auth_token, time_scale=args.time_scale)
    rest = RestServer(sim, port=args.api_port or None)
    service = None
    interrupted = []

    def stop(signum, _frame):
        interrupted.append(signum)
        raise KeyboardInterrupt

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop)
    try:
        rest.start()
        if args.url:
            url = args.url.rstrip("/")
            admin = args.admin_token or os.environ.get("ADMIN_TOKEN") or ""
        else:
            print(f"starting the service (Redis {args.redis_url or 'embedded'}) ...", file=sys.stderr, flush=True)
            service = LocalService(rest.url, args.redis_url, workers=args.workers, keep=args.keep).__enter__()
            url, admin = service.url, ADMIN_TOKEN
        print(f"{args.calls} calls, {args.agents} agents, {args.erlangs:g} Erlangs offered "
              f"(rate {rate:.3f}/s x handle {args.handle:g} s), time scale {args.time_scale:g}, "
              f"target {target:g} s", file=sys.stderr, flush=True)

        def show(p):
            print("\r" + progress_bar(p), end="", file=sys.stderr, flush=True)

        report = run_load(url, admin, sim, NUMBER, rate_per_s=rate, calls=args.calls, agents=args.agents,
                          handle_s=args.handle, patience_s=None, press="1", skills={"billing": 5},
                          seed=args.seed, target_s=target, answer_after=args.answer_after, progress=show)
        print(file=sys.stderr)
    except (LoadError, RuntimeError) as exc:
        print(f"\nbench/erlang.py: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nbench/erlang.py: interrupted", file=sys.stderr)
        return 1
    finally:
        sim.shutdown()
        if service is not None:
            service.__exit__(None, None, None)
        rest.stop()

    print(report.table())
    em, en = report.erlang_measured, report.erlang_nominal

    def secs(x):
        return "-" if x is None else ("inf" if math.isinf(x) else f"{x:.3f}")

    def share(x):
        return "-" if x is None else f"{x:.4f}"

    def cell(x, m, fmt):
        return f"{fmt(x)} ({fmt_rel(rel(m, x))})" if x is not None else "-"

    print()
    print("wait for an agent (queue entry -> offer), measured against:")
    head = ("", "measured", "same calls, ideal queue", "Erlang C, measured load", "Erlang C, nominal load")
    rows = [("ASA (s)", secs(report.agent_wait_s), cell(report.replay_asa_s, report.agent_wait_s, secs),
             cell(em.asa_s if em else None, report.agent_wait_s, secs), cell(en.asa_s, report.agent_wait_s, secs)),
            (f"service level (<= {target:g} s)", share(report.agent_service_level),
             cell(report.replay_service_level, report.agent_service_level, share),
             cell(em.service_level if em else None, report.agent_service_level, share),
             cell(en.service_level, report.agent_service_level, share))]
    for row in (head, *rows):
        print(f"  {row[0]:<24}{row[1]:>10}{row[2]:>27}{row[3]:>27}{row[4]:>27}")
    print("  (in brackets: how far the measured figure is from that reference)")
    print(f"the sample alone (as dialled, drawn talk times, no overheads, ideal queue): ASA "
          f"{secs(report.sample_asa_s)} s, service level {share(report.sample_service_level)}; Erlang C nominal "
          f"{secs(en.asa_s)} s, {share(en.service_level)}: chance puts this sample "
          f"{fmt_rel(rel(report.sample_asa_s, en.asa_s))} / "
          f"{fmt_rel(rel(report.sample_service_level, en.service_level))} from the nominal prediction")
    print(f"caller's side: ASA to the agent's voice {secs(report.asa_s)} s, service level "
          f"{share(report.service_level)}, longest wait {secs(report.longest_wait_s)} s; connect time "
          f"{secs(report.connect_s)} s; agent time per call {secs(report.occupancy_s)} s of which talk "
          f"{secs(report.talk_s)} s; arrival rate into the queue {secs(report.measured_rate_per_s)}/s")
    if em is not None and math.isfinite(em.asa_s):
        asas, sls = sampling_band(args.calls, args.agents, em.arrival_rate_per_s, em.aht_s, target)
        n = len(asas)
        print(f"chance alone: {n} ideal M/M/{args.agents} runs of {args.calls} calls at the measured load give "
              f"ASA {asas[n // 10]:.3f}-{asas[9 * n // 10]:.3f} s and service level {sls[n // 10]:.4f}-"
              f"{sls[9 * n // 10]:.4f} (10th-90th percentile; Erlang C {em.asa_s:.3f} s, {em.service_level:.4f}); "
              f"{100 * sum(1 for a in asas if abs(a / em.asa_s - 1) <= 0.1) / n:.0f} % of them are within 10 % of "
              f"Erlang C's ASA; the measured run sits at percentile {100 * rank(asas, report.agent_wait_s):.0f} (ASA) "
              f"and {100 * rank(sls, report.agent_service_level):.0f} (service level) of them")
    # Control variate: the replay runs this very sample (arrivals, agent times) through an ideal queue,
    # and its expectation is Erlang C for the measured load. measured - replay + Erlang C keeps what
    # the ACD itself adds to the wait and drops the sample's luck, which no ACD can remove.
    corrected_asa = corrected_sl = None
    if em is not None and math.isfinite(em.asa_s) and report.replay_asa_s is not None:
        corrected_asa = report.agent_wait_s - report.replay_asa_s + em.asa_s
        corrected_sl = report.agent_service_level - report.replay_service_level + em.service_level
        print(f"luck removed (measured - same calls in the ideal queue + Erlang C, measured load): ASA "
              f"{secs(corrected_asa)} s vs Erlang C {secs(em.asa_s)} s ({fmt_rel(rel(corrected_asa, em.asa_s))}), "
              f"service level {share(corrected_sl)} vs {share(em.service_level)} "
              f"({fmt_rel(rel(corrected_sl, em.service_level))})")
    if not report.ok or report.answered != args.calls:
        print(f"FAILED RUN: {report.answered} of {args.calls} answered; {len(report.problems)} problems",
              file=sys.stderr)
        return 1
    checks = [rel(report.agent_wait_s, report.replay_asa_s),
              rel(report.agent_service_level, report.replay_service_level),
              rel(corrected_asa, em.asa_s if em else None),
              rel(corrected_sl, em.service_level if em else None)]
    within = all(x is not None and abs(x) <= TARGET for x in checks)
    replay_ok = all(x is not None and abs(x) <= TARGET for x in checks[:2])
    raw = [rel(report.agent_wait_s, em.asa_s if em else None), rel(report.agent_service_level,
                                                                   em.service_level if em else None)]
    print(f"against the ideal queue on the same calls: {'WITHIN' if replay_ok else 'OUTSIDE'} the "
          f"{100 * TARGET:.0f} % target")
    print(f"raw measured against Erlang C (measured load), luck included: ASA {fmt_rel(raw[0])}, "
          f"service level {fmt_rel(raw[1])}")
    print(f"{'WITHIN' if within else 'OUTSIDE'} the {100 * TARGET:.0f} % target "
          f"(against the replay, and luck-removed against Erlang C for the measured load)")
    return 0 if within else 2


if __name__ == "__main__":
    sys.exit(main())
