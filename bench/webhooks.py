#!/usr/bin/env python
"""Throughput of the voice webhooks against the least a correct webhook does.

    .venv/bin/python bench/webhooks.py [--rounds 5] [--seconds 5] [--concurrency 16] [--workers 2]

One "call" is what Twilio sends for a caller who picks the first menu option:
a signed POST /voice/incoming, then a signed POST /voice/gather?node=menu
with Digits=1. The script serves

  * the service:  gunicorn -c gunicorn.conf.py wsgi:app
  * the baseline: gunicorn -c gunicorn.conf.py bench.minimal_app:app
    (parse the form, check the signature, one Redis write, fixed TwiML)

with the same gunicorn settings (WEB_CONCURRENCY workers, gevent), on
127.0.0.1 only, then measures them in alternating rounds and prints the
throughput ratio median(service calls/s) / median(baseline calls/s).
See bench/README.md for the method and the figures.

It uses Redis database 14 of the local Redis (FLUSHDB before and after), a
temporary instance directory with its own SQLite database and a copy of the
demo config whose hours are always open. Everything it starts, it stops.
Exit status: 0 PASS, 2 BELOW TARGET, 1 the run failed or had errors.
"""
from __future__ import annotations

import argparse
import http.client
import os
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import redis  # noqa: E402
import yaml  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

TARGET = 0.7
AUTH_TOKEN = "bench-auth-token-0123456789abcdef"
ACCOUNT_SID = "AC" + "b" * 32
TO_NUMBER = "+15005550006"             # the demo's main flow
KNOWN_CALLER = "+14155550100"          # the demo contact: greeted by name
BASELINE_KEYS = "bench:minimal:call:*"  # bench/minimal_app.KEY_PREFIX
INCOMING_PATH = "/voice/incoming"
MENU_PATH = "/voice/gather?node=menu"
# What each step must answer; the same check for both servers.
EXPECT = (b"<Gather", b"<Enqueue")
# Environment that would change how the servers run; the bench sets its own.
SCRUBBED_ENV = ("GUNICORN_CMD_ARGS", "PUBLIC_URL", "ACCESS_LOG", "WEB_CONNECTIONS", "LOG_LEVEL",
                "WEB_CONCURRENCY", "PORT", "REDIS_URL", "DATABASE_URL", "CALLROUTER_CONFIG",
                "CALLROUTER_INSTANCE", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_API_URL")


class BenchError(Exception):
    pass


def _sigterm(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


# -- the scenario's requests -----------------------------------------------------------------

@dataclass
class Caller:
    """Builds signed request bytes exactly as Twilio would send them to one server."""
    host: str                      # "127.0.0.1:PORT"
    validator: RequestValidator
    known_share: float
    made: int = 0

    def _request(self, path: str, params: dict[str, str]) -> bytes:
        body = urlencode(params).encode()
        sig = self.validator.compute_signature(f"http://{self.host}{path}", params)
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nUser-Agent: TwilioProxy/1.1\r\n"
                f"Accept: */*\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                f"X-Twilio-Signature: {sig}\r\nContent-Length: {len(body)}\r\n\r\n")
        return head.encode() + body

    def call(self, caller: str | None = None) -> tuple[bytes, bytes, str]:
        """(incoming request, menu request, CallSid) of a new call."""
        k = self.made
        self.made += 1
        if caller is None:
            # The same deterministic mix for both servers: every 1/known_share-th call is the
            # CRM contact (greeted by name), the others unknown numbers (lookup misses).
            known = int((k + 1) * self.known_share) > int(k * self.known_share)
            caller = KNOWN_CALLER if known else f"+1415555{2000 + k % 8000:04d}"
        sid = "CA" + uuid.uuid4().hex
        params = {"CallSid": sid, "AccountSid": ACCOUNT_SID, "From": caller, "To": TO_NUMBER,
                  "CallStatus": "ringing", "Direction": "inbound", "ApiVersion": "2010-04-01",
                  "Caller": caller, "Called": TO_NUMBER}
        incoming = self._request(INCOMING_PATH, params)
        menu = self._request(MENU_PATH, {**params, "CallStatus": "in-progress", "Digits": "1"})
        return incoming, menu, sid


# -- load generator ----------------------------------------------------------------------------

class _Conn:
    __slots__ = ("sock", "buf", "call", "step", "t0", "need", "body_at", "status", "xml", "close")

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = bytearray()
        self.call = -1
        self.step = 0
        self.t0 = 0.0
        self.need = -1


@dataclass
class Result:
    calls: int = 0            # calls whose both steps answered as expected
    requests: int = 0         # requests answered as expected
    incoming_ok: int = 0      # calls the server began (first step answered 200)
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    client_cpu: float = 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(q * len(xs)))]


def _connect(port: int, timeout: float) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def drive(port: int, calls: list[tuple[bytes, bytes, str]], concurrency: int, seconds: float,
          timeout: float = 20.0) -> Result:
    """Send `calls` over `concurrency` keep-alive connections, each connection one call at a
    time (incoming, then the menu step once the first answer is in), until `seconds` have
    passed or the calls run out; calls under way at the deadline are finished."""
    res = Result()
    sel = selectors.DefaultSelector()
    conns = [_Conn(_connect(port, timeout)) for _ in range(concurrency)]
    next_call = 0
    active = 0
    lat = res.latencies
    errors = res.errors

    def error(kind: str) -> None:
        errors[kind] = errors.get(kind, 0) + 1

    def send(c: _Conn) -> None:
        c.buf.clear()
        c.need = -1
        c.t0 = time.perf_counter()
        c.sock.sendall(calls[c.call][c.step])

    def begin(c: _Conn, now: float) -> bool:
        nonlocal next_call
        if next_call >= len(calls) or now >= deadline:
            return False
        c.call, c.step = next_call, 0
        next_call += 1
        send(c)
        return True

    def reconnect(c: _Conn) -> None:
        sel.unregister(c.sock)
        c.sock.close()
        c.sock = _connect(port, timeout)
        sel.register(c.sock, selectors.EVENT_READ, c)

    for c in conns:
        sel.register(c.sock, selectors.EVENT_READ, c)
    cpu0 = time.process_time()
    start = time.perf_counter()
    deadline = start + seconds
    last = start
    for c in conns:
        if begin(c, start):
            active += 1
    try:
        while active:
            events = sel.select(timeout)
            if not events:
                error("timeout")
                break
            for key, _ in events:
                c: _Conn = key.data
                try:
                    data = c.sock.recv(65536)
                except OSError:
                    data = b""
                if not data:   # the server closed the connection under a request
                    error("connection closed")
                    reconnect(c)
                    if not begin(c, time.perf_counter()):
                        active -= 1
                    continue
                c.buf += data
                if c.need < 0:
                    end = c.buf.find(b"\r\n\r\n")
                    if end < 0:
                        continue
                    head = bytes(c.buf[:end]).lower()
                    at = head.find(b"\r\ncontent-length:")
                    if at < 0:
                        error("no content-length")
                        reconnect(c)
                        if not begin(c, time.perf_counter()):
                            active -= 1
                        continue
                    eol = head.find(b"\r\n", at + 2)
                    c.need = end + 4 + int(head[at + 17:eol if eol > 0 else len(head)])
                    c.body_at = end + 4
                    c.status = head[9:12]
                    c.xml = b"\r\ncontent-type: text/xml" in head
                    c.close = b"\r\nconnection: close" in head
                if len(c.buf) < c.need:
                    continue
                now = time.perf_counter()
                last = now
                ok = c.status == b"200" and c.xml and c.buf.find(EXPECT[c.step], c.body_at) >= 0
                if ok:
                    lat.append(now - c.t0)
                    res.requests += 1
                elif c.status != b"200" or not c.xml:
                    error(f"step {c.step + 1}: HTTP {c.status.decode()}" + ("" if c.xml else ", not text/xml"))
                else:
                    error(f"step {c.step + 1}: unexpected TwiML")
                if c.step == 0 and c.status == b"200":
                    res.incoming_ok += 1
                if c.close:
                    reconnect(c)
                if ok and c.step == 0:
                    c.step = 1
                    send(c)
                    continue
                if ok:
                    res.calls += 1
                if not begin(c, now):
                    active -= 1
    finally:
        res.elapsed = last - start
        res.client_cpu = time.process_time() - cpu0
        for c in conns:
            try:
                sel.unregister(c.sock)
            except (KeyError, ValueError):
                pass
            c.sock.close()
        sel.close()
    if active:
        errors["unfinished calls"] = errors.get("unfinished calls", 0) + active
    return res


def post(port: int, request: bytes, timeout: float = 10.0) -> tuple[int, str, bytes]:
    """One request on a fresh connection, for the pre-flight checks (status, content type, body)."""
    head, _, body = request.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    method, target, _ = lines[0].split(" ")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, target, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type", ""), resp.read()
    finally:
        conn.close()


# -- servers -----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, name: str, module: str, env: dict[str, str], workers: int, logdir: Path):
        self.name = name
        self.module = module
        self.port = free_port()
        self.env = {**env, "PORT": str(self.port), "WEB_CONCURRENCY": str(workers)}
        self.workers = workers
        self.log_path = logdir / f"{name}.log"
        self.proc: subprocess.Popen | None = None
        self.caller = Caller(f"127.0.0.1:{self.port}", RequestValidator(AUTH_TOKEN), 0.0)
        self.results: list[Result] = []
        self.cpu: list[tuple[float, float]] = []   # (worker cpu s, redis cpu s) per round
        self.rate_estimate = 0.0
        self.began = 0                               # calls whose first step answered 200

    def start(self) -> None:
        cmd = [sys.executable, "-m", "gunicorn", "-c", str(REPO / "gunicorn.conf.py"),
               "--bind", f"127.0.0.1:{self.port}", self.module]
        log = open(self.log_path, "wb")
        try:
            # A session of its own: Ctrl-C reaches the bench, which stops the server in order.
            self.proc = subprocess.Popen(cmd, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            log.close()

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name}: gunicorn exited with {self.proc.returncode}\n{self.log_tail()}")
            if len(self.worker_pids()) >= self.workers:
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                    conn.request("GET", "/")
                    conn.getresponse().read()
                    conn.close()
                    return
                except OSError:
                    pass
            time.sleep(0.1)
        raise BenchError(f"{self.name}: not ready after {timeout:.0f} s\n{self.log_tail()}")

    def worker_pids(self) -> list[int]:
        if self.proc is None:
            return []
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as fh:
                        fields = fh.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.proc.pid:
                    pids.append(int(entry))
        return pids

    def worker_cpu(self) -> dict[int, float]:
        """CPU seconds (user + system) used so far by each worker process."""
        out = {}
        tick = os.sysconf("SC_CLK_TCK")
        for pid in self.worker_pids():
            try:
                with open(f"/proc/{pid}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
                out[pid] = (int(fields[11]) + int(fields[12])) / tick
            except OSError:
                pass
        return out

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)      # graceful: gunicorn stops its workers
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)   # the group started above, no other
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=5)


# -- setup ---------------------------------------------------------------------------------------

def bench_config(tmp: Path) -> Path:
    """The demo config with every hours node pointing at an always-open schedule."""
    from ivr.config import load_config

    data = yaml.safe_load((REPO / "config" / "demo.yaml").read_text(encoding="utf-8"))
    data.setdefault("hours", {})["bench_always"] = {"weekly": {"mon-sun": "00:00-24:00"}}
    for flow in data["flows"].values():
        for node in flow["nodes"].values():
            if isinstance(node, dict) and "hours" in node:
                node["hours"] = "bench_always"
    path = tmp / "bench.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    load_config(path)   # raises ConfigError with every problem if the copy is wrong
    return path


def prepare_database(url: str, config: Path) -> dict[str, int]:
    from ivr.config import load_config
    from store.db import make_engine, make_session_factory, migrate
    from store.seed import seed

    migrate(url)
    cc = load_config(config)
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            return seed(session, list(cc.agents), list(cc.contacts), default_timezone=cc.timezone)
    finally:
        engine.dispose()


def check_redis_url(url: str) -> redis.Redis:
    parts = urlsplit(url)
    if parts.scheme != "redis" or parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise BenchError(f"--redis-url must be a redis:// URL on loopback, not {url}")
    client = redis.Redis.from_url(url)
    db = client.connection_pool.connection_kwargs.get("db", 0)
    if not db:
        raise BenchError("--redis-url must name a dedicated database number other than 0 (it is flushed)")
    try:
        client.ping()
    except redis.RedisError as exc:
        raise BenchError(f"no Redis at {url}: {exc}")
    return client


def redis_cpu(r: redis.Redis) -> float:
    info = r.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def count_keys(r: redis.Redis, pattern: str) -> int:
    return sum(1 for _ in r.scan_iter(match=pattern, count=2000))


# -- measuring -----------------------------------------------------------------------------------

def preflight(server: Server, r: redis.Redis, workspace: str | None) -> None:
    """One call checked in full, and a forged signature that must be refused."""
    incoming, menu, sid = server.caller.call(KNOWN_CALLER)
    status, ctype, body = post(server.port, incoming)
    if status != 200 or not ctype.startswith("text/xml") or EXPECT[0] not in body:
        raise BenchError(f"{server.name}: /voice/incoming answered {status} {ctype}: {body[:300]!r}\n"
                         f"{server.log_tail()}")
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


def measure(server: Server, r: redis.Redis, seconds: float, concurrency: int, record: bool) -> Result:
    # Sign this round's calls before the clock starts, for both servers alike, so that during
    # the round the client only moves bytes and leaves the CPU to the servers.
    rate = server.rate_estimate or 200.0
    n = int(rate * seconds * 1.5) + 4 * concurrency
    calls = [server.caller.call() for _ in range(n)]
    cpu0, rcpu0 = server.worker_cpu(), redis_cpu(r)
    res = drive(server.port, calls, concurrency, seconds)
    cpu1, rcpu1 = server.worker_cpu(), redis_cpu(r)
    server.began += res.incoming_ok
    if res.elapsed > 0:
        server.rate_estimate = max(server.rate_estimate, res.calls / res.elapsed)
    if record:
        server.results.append(res)
        worker = sum(cpu1[p] - cpu0[p] for p in cpu1 if p in cpu0)
        server.cpu.append((worker, rcpu1 - rcpu0))
    return res


def per_call_us(seconds: float, calls: int) -> float:
    return seconds / calls * 1e6 if calls else float("nan")


def print_row(rnd: str, server: Server, res: Result, cpu: tuple[float, float] | None) -> None:
    secs = res.elapsed or float("nan")
    w, rc = cpu if cpu else (float("nan"), float("nan"))
    print(f"{rnd:>5}  {server.name:<8} {res.calls:>6} {res.elapsed:>6.2f} {res.calls / secs:>8.1f} "
          f"{res.requests / secs:>8.1f} {res.pct(0.5) * 1e3:>7.2f} {res.pct(0.95) * 1e3:>7.2f} "
          f"{per_call_us(w, res.calls):>8.0f} {per_call_us(rc, res.calls):>8.0f} "
          f"{per_call_us(res.client_cpu, res.calls):>8.0f} {res.error_count:>6}", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5, help="measured rounds per server (default 5)")
    ap.add_argument("--seconds", type=float, default=5.0, help="length of one round (default 5)")
    ap.add_argument("--warmup", type=float, default=2.0, help="unmeasured load per server first (default 2 s)")
    ap.add_argument("--concurrency", type=int, default=16,
                    help="keep-alive connections, each one call at a time (default 16)")
    ap.add_argument("--workers", type=int, default=2, help="WEB_CONCURRENCY for both servers (default 2)")
    ap.add_argument("--known-share", type=float, default=0.25,
                    help="share of calls from the demo CRM contact, greeted by name (default 0.25)")
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/14",
                    help="loopback Redis with a dedicated database number; flushed before and after")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, SQLite)")
    args = ap.parse_args(argv)
    if args.rounds < 1 or args.seconds <= 0 or args.concurrency < 1 or args.workers < 1:
        ap.error("rounds, seconds, concurrency and workers must be positive")
    if not 0 <= args.known_share <= 1:
        ap.error("--known-share is between 0 and 1")

    signal.signal(signal.SIGTERM, _sigterm)
    tmp = Path(tempfile.mkdtemp(prefix="callrouter-bench-"))
    servers: list[Server] = []
    r: redis.Redis | None = None
    try:
        r = check_redis_url(args.redis_url)
        r.flushdb()
        instance = tmp / "instance"
        instance.mkdir()
        config = bench_config(tmp)
        db_url = f"sqlite:///{instance / 'callrouter.db'}"
        seeded = prepare_database(db_url, config)
        from ivr.config import load_config
        workspace = load_config(config).workspace

        env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
        env.update({
            "REDIS_URL": args.redis_url, "DATABASE_URL": db_url, "CALLROUTER_CONFIG": str(config),
            "CALLROUTER_INSTANCE": str(instance), "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_API_URL": "http://127.0.0.1:9",
            "ADMIN_TOKEN": "bench-admin-token", "SECRET_KEY": "bench-secret-key",
            "LOG_LEVEL": "warning", "PYTHONDONTWRITEBYTECODE": "1",
        })
        service = Server("service", "wsgi:app", env, args.workers, tmp)
        baseline = Server("baseline", "bench.minimal_app:app", env, args.workers, tmp)
        servers = [service, baseline]
        for s in servers:
            s.caller.known_share = args.known_share
            s.start()
        for s in servers:
            s.wait_ready()

        load = os.getloadavg()
        print(f"callrouter webhook bench: {args.workers} gunicorn gevent workers per server, "
              f"{args.concurrency} connections, {args.rounds} rounds x {args.seconds:g} s, "
              f"{os.cpu_count()} CPUs, load average {load[0]:.2f}")
        print(f"one call = signed POST {INCOMING_PATH} + signed POST {MENU_PATH} (Digits=1); "
              f"{args.known_share:.0%} of callers are the CRM contact; seeded {seeded}")
        preflight(service, r, workspace)
        preflight(baseline, r, None)
        for s in servers:
            warm = measure(s, r, args.warmup, args.concurrency, record=False)
            if warm.error_count:
                raise BenchError(f"{s.name}: errors during warm-up: {warm.errors}\n{s.log_tail()}")

        print()
        print(f"{'round':>5}  {'server':<8} {'calls':>6} {'secs':>6} {'calls/s':>8} {'req/s':>8} "
              f"{'p50 ms':>7} {'p95 ms':>7} {'srv us':>8} {'redis us':>8} {'clnt us':>8} {'errors':>6}")
        for i in range(args.rounds):
            order = servers if i % 2 == 0 else servers[::-1]   # ABBA: neither always goes first
            for s in order:
                res = measure(s, r, args.seconds, args.concurrency, record=True)
                print_row(str(i + 1), s, res, s.cpu[-1])
        print("  (srv us, redis us, clnt us: CPU microseconds per call in the gunicorn workers, "
              "the Redis server and this client)")

        # Every call a server began must have left its state in Redis.
        from store.keys import Keys
        stored = {"service": count_keys(r, Keys(workspace).call("*")), "baseline": count_keys(r, BASELINE_KEYS)}
        problems = []
        for s in servers:
            if stored[s.name] != s.began:
                problems.append(f"{s.name}: {s.began} calls answered but {stored[s.name]} call hashes in Redis")

        med = {s.name: statistics.median(x.calls / x.elapsed if x.elapsed else 0 for x in s.results)
               for s in servers}
        med_req = {s.name: statistics.median(x.requests / x.elapsed if x.elapsed else 0 for x in s.results)
                   for s in servers}
        cpu = {s.name: sum(c[0] for c in s.cpu) / max(1, sum(x.calls for x in s.results)) * 1e6 for s in servers}
        rcpu = {s.name: sum(c[1] for c in s.cpu) / max(1, sum(x.calls for x in s.results)) * 1e6 for s in servers}
        pairs = [a.calls / a.elapsed / (b.calls / b.elapsed)
                 for a, b in zip(service.results, baseline.results) if a.elapsed and b.elapsed and b.calls]
        errors = {s.name: sum(x.error_count for x in s.results) for s in servers}
        ratio = med["service"] / med["baseline"] if med["baseline"] else 0.0

        print()
        for s in servers:
            print(f"{s.name:<8} median {med[s.name]:8.1f} calls/s ({med_req[s.name]:8.1f} req/s), "
                  f"{cpu[s.name]:6.0f} us worker CPU + {rcpu[s.name]:4.0f} us Redis CPU per call, "
                  f"{errors[s.name]} errors")
        if pairs:
            print(f"per-round ratios: {' '.join(f'{p:.2f}' for p in pairs)}")
        print(f"worker CPU per call, baseline / service: {cpu['baseline'] / cpu['service']:.2f}")
        verdict = "PASS" if ratio >= TARGET else "BELOW TARGET"
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
        return 0 if ratio >= TARGET else 2
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; stopping the servers", file=sys.stderr)
        return 130
    finally:
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
