"""Webhooks while a thousand agents hold their event streams open.

    .venv/bin/python -m bench.streams [--streams 1000] [--seconds 5] [--concurrency 8]

Starts the service as `make run` does (`python -m service.serve`: gunicorn
web + rq worker, embedded Redis, SQLite, in a temporary instance directory),
creates the agents through the API and logs them in on break (so callers
queue), then measures whole calls — signed `/voice/incoming`, the menu step
(`Digits=1`, into the billing queue) and the completed status callback — with
no stream open, with `--streams` Server-Sent-Event streams open
(`GET /api/agents/<id>/events`), and with none again. It prints calls/s and
p50/p99 webhook latency for each and the ratio of the open round to the mean
of the two closed ones.

Targets (issue 4): throughput with the streams open >= 0.8 x without; p99 < 50 ms.
Loopback only; everything it starts, it stops. Not a test.
"""
from __future__ import annotations

import argparse
import http.client
import json
import resource
import selectors
import socket
import statistics
import sys
import threading
import time
import uuid
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from bench.service import Service

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


def run_calls(port: int, seconds: float, concurrency: int) -> tuple[int, list[float], int]:
    """Whole calls from `concurrency` threads for `seconds`: (calls, latencies, errors)."""
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
            sid = "CA" + uuid.uuid4().hex
            params = {"CallSid": sid, "AccountSid": SID, "From": "+14155551234", "To": "+15005550006",
                      "CallStatus": "in-progress", "Direction": "inbound", "ApiVersion": "2010-04-01"}
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
                local.append(time.perf_counter() - start)
                if response.status not in (200, 204) or expect not in body:
                    errors += 1
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


def pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1e3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.streams * 2 + 512)), hard))
    service = Service(args.workers, account_sid=SID, auth_token=AUTH_TOKEN, admin_token=ADMIN, name="bench-streams")
    rows = []
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
        rows.append(("no streams",) + run_calls(service.port, args.seconds, args.concurrency))
        print(f"opening {args.streams} event streams…", file=sys.stderr, flush=True)
        streams = Streams(service.port, agents)
        rows.append((f"{args.streams} streams open",) + run_calls(service.port, args.seconds, args.concurrency))
        streams.close()
        time.sleep(1)
        rows.append(("no streams again",) + run_calls(service.port, args.seconds, args.concurrency))
    finally:
        service.stop()
    print(f"\n{'round':<20} {'calls/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6}")
    for name, calls, lat, errors in rows:
        print(f"{name:<20} {calls / args.seconds:>8.1f} {pct(lat, 0.5):>7.2f} {pct(lat, 0.99):>7.2f} {errors:>6}")
    closed = statistics.mean([rows[0][1], rows[2][1]])
    ratio = rows[1][1] / closed if closed else 0.0
    p99 = pct(rows[1][2], 0.99)
    ok = ratio >= 0.8 and p99 < 50 and not any(r[3] for r in rows)
    print(f"\nthroughput with streams open / without: {ratio:.2f} (target >= 0.8); "
          f"p99 with streams open: {p99:.1f} ms (target < 50): {'PASS' if ok else 'BELOW TARGET'}")
    return 0 if ok else 2


if __name__ == "__main__":
    sys.exit(main())
