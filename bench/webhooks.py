"""Throughput of the voice webhooks against the least a correct webhook does.

    .venv/bin/python bench/webhooks.py [--rounds 8] [--seconds 3] [--concurrency 16] [--workers 2]

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
temporary instance directory with its own SQLite database (migrated, then
`flask seed`), a copy of the demo config whose hours are always open, and logs
the configured agents in through the JSON API so that the menu step queues
the caller. Everything it starts, it stops.
Exit status: 0 PASS, 2 BELOW TARGET, 3 INCONCLUSIVE (busy machine), 1 the run failed or
had errors.
"""
from __future__ import annotations

import argparse
import http.client
import json
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

import redis
import yaml
from twilio.request_validator import RequestValidator

from ivr.config import read_yaml

TARGET = 0.7
AUTH_TOKEN = "bench-auth-token-0123456789abcdef"
ADMIN_TOKEN = "bench-admin-token"
ACCOUNT_SID = "AC" + "b" * 32
TO_NUMBER = "+15005550006"             # the demo's main flow
KNOWN_CALLER = "+14155550100"          # the demo contact: greeted by name
BASELINE_KEYS = "bench:minimal:call:*"  # bench/minimal_app.KEY_PREFIX
INCOMING_PATH = "/voice/incoming"
GEO = {f"{side}{field}": value for side, place in (("From", ("SAN FRANCISCO", "CA", "94107", "US")),
                                                    ("Caller", ("SAN FRANCISCO", "CA", "94107", "US")),
                                                    ("To", ("", "", "", "US")), ("Called", ("", "", "", "US")))
       for field, value in zip(("City", "State", "Zip", "Country"), place)}
MENU_PATH = "/voice/gather?node=menu"
# What each step must answer; the same check for both servers.
EXPECT = (b"<Gather", b"<Enqueue")
# Environment that would change how the servers run; the bench sets its own.
SCRUBBED_ENV = ("GUNICORN_CMD_ARGS", "PUBLIC_URL", "ACCESS_LOG", "WEB_CONNECTIONS", "LOG_LEVEL",
                "WEB_CONCURRENCY", "PORT", "REDIS_URL", "DATABASE_URL", "CALLROUTER_CONFIG",
                "CALLROUTER_INSTANCE", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_API_URL")


class BenchError(Exception):
    pass


def _die_with_parent() -> None:
    """In the gunicorn master before exec: SIGTERM it if the bench dies without cleaning up."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
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
        # The parameters Twilio sends with every voice request, geography included (TWILIO-NOTES):
        # both servers parse and sign-check exactly the same form.
        params = {"CallSid": sid, "AccountSid": ACCOUNT_SID, "From": caller, "To": TO_NUMBER,
                  "CallStatus": "ringing", "Direction": "inbound", "ApiVersion": "2010-04-01",
                  "Caller": caller, "Called": TO_NUMBER, **GEO}
        incoming = self._request(INCOMING_PATH, params)
        menu = self._request(MENU_PATH, {**params, "CallStatus": "in-progress", "Digits": "1"})
        return incoming, menu, sid


# -- load generator ----------------------------------------------------------------------------

class _Conn:
    __slots__ = ("body_at", "buf", "call", "close", "need", "served", "sock", "status", "step", "t0", "xml")

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = bytearray()
        self.call = -1
        self.step = 0
        self.t0 = 0.0
        self.need = -1
        self.served = 0


@dataclass
class Result:
    calls: int = 0            # calls whose both steps answered as expected
    requests: int = 0         # requests answered as expected
    incoming_ok: int = 0      # calls the server began (first step answered 200)
    elapsed: float = 0.0
    reconnects: int = 0       # connections the server closed (errors, or Connection: close)
    rotations: int = 0        # connections the client replaced after --reconnect-every calls
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
          reconnect_every: int = 10, timeout: float = 20.0) -> Result:
    """Send `calls` over `concurrency` keep-alive connections, each connection one call at a
    time (incoming, then the menu step once the first answer is in), until `seconds` have
    passed or the calls run out; calls under way at the deadline are finished.

    Every connection is replaced after `reconnect_every` calls (0: never). gunicorn's workers
    share one listening socket and whichever wakes first accepts, so connections opened in a
    burst can all land on one worker and stay there; replacing them now and then lets the
    kernel hand the new ones to the worker that is free, as it does with real traffic."""
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
        try:
            c.sock.sendall(calls[c.call][c.step])
        except OSError:        # the server dropped the connection: once more on a new one
            error("send failed")
            reconnect(c)
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

    def reconnect(c: _Conn, rotation: bool = False) -> None:
        if rotation:
            res.rotations += 1
        else:
            res.reconnects += 1
        c.served = 0
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
                c.served += 1
                if reconnect_every and c.served >= reconnect_every and not c.close:
                    reconnect(c, rotation=True)
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
        self.busiest: list[float] = []              # share of the round's worker CPU in the busiest worker
        self.other: list[float] = []                # share of the machine's CPU used by other processes
        self.redis_shared: list[list[str]] = []     # other Redis databases in use during the round
        self.rate_estimate = 0.0
        self.began = 0                               # calls whose first step answered 200

    def start(self) -> None:
        cmd = [sys.executable, "-m", "gunicorn", "-c", str(REPO / "gunicorn.conf.py"),
               "--bind", f"127.0.0.1:{self.port}", self.module]
        with open(self.log_path, "wb") as log:
            # A session of its own: Ctrl-C reaches the bench, which stops the server in order.
            # preexec_fn is safe here: the bench runs no threads.
            self.proc = subprocess.Popen(cmd, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True,
                                         preexec_fn=_die_with_parent)  # noqa: PLW1509

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name}: gunicorn exited with {self.proc.returncode}")
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
        raise BenchError(f"{self.name}: not ready after {timeout:.0f} s")

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
    """The demo config with every hours node and queue on an always-open schedule, so that
    the scenario (menu, then queue) does not depend on the time of day or on holidays."""
    from ivr.config import load_config

    data = read_yaml((REPO / "config" / "demo.yaml").read_text(encoding="utf-8"))   # as the service reads it
    data.setdefault("hours", {})["bench_always"] = {"weekly": {"mon-sun": "00:00-24:00"}}
    for queue in (data.get("queues") or {}).values():
        if isinstance(queue, dict) and "hours" in queue:
            queue["hours"] = "bench_always"
    for flow in data["flows"].values():
        for node in flow["nodes"].values():
            if isinstance(node, dict) and "hours" in node:
                node["hours"] = "bench_always"
    path = tmp / "bench.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    load_config(path)   # raises ConfigError with every problem if the copy is wrong
    return path


def prepare_database(url: str, env: dict[str, str]) -> str:
    """Migrate the SQLite database, then `flask seed` with the servers' environment: agents and
    CRM contacts from the config into SQL (and whatever else seeding does, e.g. agents into Redis)."""
    from store.db import migrate

    migrate(url)
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "seed"], check=False, cwd=REPO, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise BenchError(f"flask seed failed ({done.returncode}):\n{done.stdout}{done.stderr}"[-3000:])
    lines = done.stdout.strip().splitlines()
    return lines[-1] if lines else "(no output)"


def log_agents_in(server: Server, agent_ids: list[str], admin_token: str) -> str:
    """Every configured agent `available` through the JSON API, so that callers who pick a queue
    are put in line (with nobody logged in the ACD sends them to the queue's overflow)."""
    done = []
    for agent_id in agent_ids:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            conn.request("POST", f"/api/agents/{agent_id}/status", body=json.dumps({"status": "available"}),
                         headers={"Authorization": f"Bearer {admin_token}", "Content-Type": "application/json"})
            resp = conn.getresponse()
            body = resp.read()
        finally:
            conn.close()
        if resp.status == 404 and not done:
            return "none (no agent status API)"
        if resp.status != 200:
            raise BenchError(f"{server.name}: logging agent {agent_id} in answered {resp.status}: {body[:300]!r}")
        done.append(agent_id)
    return ", ".join(done) or "none (no agents in the config)"


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
        raise BenchError(f"no Redis at {url}: {exc}") from None
    return client


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


# -- measuring -----------------------------------------------------------------------------------

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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
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
    args = ap.parse_args(argv)
    if args.rounds < 1 or args.seconds <= 0 or args.concurrency < 1 or args.workers < 1:
        ap.error("rounds, seconds, concurrency and workers must be positive")
    if args.reconnect_every < 0:
        ap.error("--reconnect-every is 0 (never) or a number of calls")
    if not 0 <= args.known_share <= 1:
        ap.error("--known-share is between 0 and 1")

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
        instance = tmp / "instance"
        instance.mkdir()
        config = bench_config(tmp)
        db_url = f"sqlite:///{instance / 'callrouter.db'}"
        from ivr.config import load_config
        cc = load_config(config)
        workspace = cc.workspace

        env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
        env.update({
            "REDIS_URL": args.redis_url, "DATABASE_URL": db_url, "CALLROUTER_CONFIG": str(config),
            "CALLROUTER_INSTANCE": str(instance), "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_API_URL": "http://127.0.0.1:9",
            "ADMIN_TOKEN": ADMIN_TOKEN, "SECRET_KEY": "bench-secret-key",
            "LOG_LEVEL": "warning", "PYTHONDONTWRITEBYTECODE": "1",
        })
        seeded = prepare_database(db_url, env)
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
        agents = log_agents_in(service, [a["id"] for a in cc.agents], ADMIN_TOKEN)
        print(f"one call = signed POST {INCOMING_PATH} + signed POST {MENU_PATH} (Digits=1); "
              f"{args.known_share:.0%} of callers are the CRM contact")
        print(f"{seeded}; agents logged in: {agents}")
        idle_machine, idle_redis = quiet_check(r)
        print(f"before the rounds, with nothing sent: machine {idle_machine:.0%} busy, "
              f"Redis using {idle_redis:.0%} of a CPU")
        preflight(service, r, workspace)
        preflight(baseline, r, None)
        for s in servers:
            # Until --warmup seconds have passed; this also sizes the rounds' pre-signed calls.
            warmed = 0.0
            while warmed < args.warmup:
                warm = measure(s, r, args.warmup - warmed, args.concurrency, args.reconnect_every, record=False)
                if warm.error_count:
                    raise BenchError(f"{s.name}: errors during warm-up: {warm.errors}")
                warmed += max(warm.elapsed, 0.05)

        print()
        print(f"{'round':>5}  {'server':<8} {'calls':>6} {'secs':>6} {'calls/s':>8} {'req/s':>8} "
              f"{'p50 ms':>7} {'p95 ms':>7} {'srv us':>8} {'redis us':>8} {'clnt us':>8} {'other':>6} {'errors':>6}")
        for i in range(args.rounds):
            order = servers if i % 2 == 0 else servers[::-1]   # ABBA: neither always goes first
            for s in order:
                res = measure(s, r, args.seconds, args.concurrency, args.reconnect_every, record=True)
                print_row(str(i + 1), s, res, s.cpu[-1], s.other[-1], bool(s.redis_shared[-1]))
        print("  (srv us, redis us, clnt us: CPU microseconds per call in the gunicorn workers, the Redis\n"
              "   server and this client; other: share of the machine's CPU taken by other processes,\n"
              "   R: clients of other databases used the same Redis server during the round)")

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
            also = (f";\n  in {shared_rounds} of {2 * args.rounds} rounds clients of Redis database(s) "
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
    except (BenchError, OSError, redis.RedisError) as exc:
        print(f"bench failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        for s in servers:
            print(f"--- {s.name} log tail ---\n{s.log_tail()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; stopping the servers", file=sys.stderr)
        return 130
    finally:
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
