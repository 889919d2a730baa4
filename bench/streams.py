"""Webhooks while a thousand agents hold their event streams open.

    .venv/bin/python bench/streams.py [--streams 1000] [--seconds 5] [--concurrency 8] [--load 0.5]

Starts the service as `make run` does (`python -m webhooks.serve`: gunicorn
web + rq worker, embedded Redis, SQLite, in a temporary instance directory),
creates the agents through the API and logs them in on break (so callers
queue), then measures whole calls — signed `/voice/incoming`, the menu step
(`Digits=1`, into the billing queue) and the completed status callback — with
no stream open, with `--streams` Server-Sent-Event streams open
(`GET /api/agents/<id>/events`), and with none again. Each round has two parts:

* throughput: `--concurrency` clients calling back to back (closed loop), calls/s;
* latency: callers arriving as a Poisson stream at `--load` x the first round's
  throughput (open loop: a slow answer does not hold the next caller back), p50/p99
  of every webhook. At saturation a closed loop's latency is its own queue
  (clients / throughput), whatever the streams do: it is printed too, but the
  latency target is judged where the service is not saturated.

It prints each round and the ratio of the open round's throughput to the mean of
the two closed ones.

Targets (issue 4): throughput with the streams open >= 0.8 x without; p99 < 50 ms.
Loopback only; everything it starts, it stops. Not a test.
"""
from __future__ import annotations

import argparse
import http.client
import json
import random
import resource
import selectors
import socket
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.service import Service  # noqa: E402

AUTH_TOKEN = "bench-streams-auth-token-0123456789"
ADMIN = "bench-streams-admin"
SID = "AC" + "5" * 32


class Streams:
    """Many open SSE connections on raw sockets, drained by one selector thread."""

    def __init__(self, port: int, agents: list[tuple[str, str]]):
        self.selector = selectors.DefaultSelector()
        self.sockets = []
        self.bytes = 0
        for agent_id, token in agents:
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            s.sendall(f"GET /api/agents/{agent_id}/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n".encode())
            first = s.recv(4096)
            if b" 200 " not in first.split(b"\r\n", 1)[0]:
                raise SystemExit(f"stream for {agent_id} refused: {first[:200]!r}")
            s.setblocking(False)
            self.selector.register(s, selectors.EVENT_READ)
            self.sockets.append(s)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self):
        while not self.stop.is_set():
            for key, _ in self.selector.select(timeout=0.2):
                try:
                    self.bytes += len(key.fileobj.recv(65536))
                except OSError:
                    pass

    def close(self):
        self.stop.set()
        self.thread.join(2)
        for s in self.sockets:
            self.selector.unregister(s)
            s.close()


def one_call(conn: http.client.HTTPConnection, validator: RequestValidator, base: str) -> tuple[list[float], int]:
    """One whole call (incoming, menu, completed) on `conn`: (latency of each webhook, errors)."""
    sid = "CA" + uuid.uuid4().hex
    params = {"CallSid": sid, "AccountSid": SID, "From": "+14155551234", "To": "+15005550006",
              "CallStatus": "in-progress", "Direction": "inbound", "ApiVersion": "2010-04-01"}
    latencies, errors = [], 0
    for path, extra, expect in (("/voice/incoming", {}, b"<Gather"),
                                ("/voice/gather?node=menu", {"Digits": "1"}, b"<Enqueue"),
                                ("/voice/status", {"CallStatus": "completed", "CallDuration": "9"}, b"")):
        form = {**params, **extra}
        headers = {"X-Twilio-Signature": validator.compute_signature(base + path, form),
                   "Content-Type": "application/x-www-form-urlencoded"}
        start = time.perf_counter()
        conn.request("POST", path, body=urlencode(form), headers=headers)
        response = conn.getresponse()
        body = response.read()
        latencies.append(time.perf_counter() - start)
        if response.status not in (200, 204) or expect not in body:
            errors += 1
    return latencies, errors


def run_calls(port: int, seconds: float, concurrency: int) -> tuple[int, list[float], int]:
    """Whole calls from `concurrency` threads back to back for `seconds`: (calls, latencies, errors)."""
    validator = RequestValidator(AUTH_TOKEN)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + seconds
    latencies: list[float] = []
    counts = {"calls": 0, "errors": 0}
    lock = threading.Lock()

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        local, calls, errors = [], 0, 0
        while time.monotonic() < deadline:
            lat, err = one_call(conn, validator, base)
            local.extend(lat)
            errors += err
            calls += 1
        conn.close()
        with lock:
            latencies.extend(local)
            counts["calls"] += calls
            counts["errors"] += errors

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return counts["calls"], latencies, counts["errors"]


def arriving_calls(port: int, seconds: float, rate: float, seed: int) -> tuple[int, list[float], int]:
    """Whole calls arriving as a Poisson stream of `rate` per second for `seconds` (open loop: each
    caller starts on time, however long the ones before take): (calls, latencies, errors)."""
    validator = RequestValidator(AUTH_TOKEN)
    base = f"http://127.0.0.1:{port}"
    local = threading.local()
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def caller():
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        lat, err = one_call(conn, validator, base)
        with lock:
            latencies.extend(lat)
            errors[0] += err

    rnd = random.Random(seed)
    calls = 0
    with ThreadPoolExecutor(max_workers=64) as pool:
        start = next_at = time.monotonic()
        while next_at < start + seconds:
            time.sleep(max(0.0, next_at - time.monotonic()))
            pool.submit(caller)
            calls += 1
            next_at += rnd.expovariate(rate)
    return calls, latencies, errors[0]


def pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1e3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--load", type=float, default=0.5,
                        help="the latency part's arrival rate, as a share of the first round's throughput")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.streams * 2 + 512)), hard))
    service = Service(args.workers, account_sid=SID, auth_token=AUTH_TOKEN, admin_token=ADMIN, name="bench-streams")
    rows = []
    rate = 0.0

    def round_(name: str, seed: int) -> None:
        nonlocal rate
        calls, saturated, errors = run_calls(service.port, args.seconds, args.concurrency)
        rate = rate or args.load * calls / args.seconds          # fixed by the first round
        _, latencies, late_errors = arriving_calls(service.port, args.seconds, rate, seed)
        rows.append((name, calls, saturated, latencies, errors + late_errors))

    try:
        print(f"creating {args.streams} agents…", file=sys.stderr, flush=True)
        agents = []
        for i in range(args.streams):
            status, body = service.api("POST", "/api/agents", {"id": f"sse{i:04d}", "name": f"Agent {i}",
                                                               "skills": {"billing": 3}, "timezone": "UTC"})
            token = json.loads(body)["token"]
            service.api("POST", f"/api/agents/sse{i:04d}/status", {"status": "break"}, token=token)
            agents.append((f"sse{i:04d}", token))
        run_calls(service.port, 2, args.concurrency)                                     # warm-up
        round_("no streams", 1)
        print(f"opening {args.streams} event streams…", file=sys.stderr, flush=True)
        streams = Streams(service.port, agents)
        round_(f"{args.streams} streams open", 2)
        streams.close()
        time.sleep(1)
        round_("no streams again", 3)
    finally:
        service.stop()
    print(f"\n{'round':<20} {'calls/s':>8} {'p99 ms':>7}   {'calls/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6}")
    print(f"{'':<20} {'saturated (closed loop)':>17}   {'arriving (open loop)':>24}")
    for name, calls, saturated, latencies, errors in rows:
        print(f"{name:<20} {calls / args.seconds:>8.1f} {pct(saturated, 0.99):>7.2f}   {rate:>8.1f} "
              f"{pct(latencies, 0.5):>7.2f} {pct(latencies, 0.99):>7.2f} {errors:>6}")
    closed = statistics.mean([rows[0][1], rows[2][1]])
    ratio = rows[1][1] / closed if closed else 0.0
    p99 = pct(rows[1][3], 0.99)
    ok = ratio >= 0.8 and p99 < 50 and not any(r[4] for r in rows)
    print(f"\nthroughput with streams open / without: {ratio:.2f} (target >= 0.8); p99 with streams open, "
          f"callers arriving at {rate:.0f}/s ({args.load:.0%} of the first round's throughput): {p99:.1f} ms "
          f"(target < 50; at saturation: {pct(rows[1][2], 0.99):.1f} ms): {'PASS' if ok else 'BELOW TARGET'}")
    return 0 if ok else 2


if __name__ == "__main__":
    sys.exit(main())
