"""The two servers under test (the service and the baseline, each a gunicorn on 127.0.0.1) and what
they need before the rounds: the always-open config, the migrated and seeded database, the agents
logged in, a dedicated Redis database."""
from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import redis
import yaml
from twilio.request_validator import RequestValidator

from bench.service import REPO, free_port
from bench.webhooks.client import Result
from bench.webhooks.scenario import ACCOUNT_SID, ADMIN_TOKEN, AUTH_TOKEN, BenchError, Caller
from contactcenter.config import read_yaml

# Environment that would change how the servers run; the bench sets its own.
SCRUBBED_ENV = ("GUNICORN_CMD_ARGS", "PUBLIC_URL", "ACCESS_LOG", "WEB_CONNECTIONS", "LOG_LEVEL",
                "WEB_CONCURRENCY", "PORT", "REDIS_URL", "DATABASE_URL", "CALLROUTER_CONFIG",
                "CALLROUTER_INSTANCE", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_API_URL")


def _die_with_parent() -> None:
    """In the gunicorn master before exec: SIGTERM it if the bench dies without cleaning up."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


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

# --route: a route node before the main menu whose rules read every attribute (the caller, the CRM
# contact, the call's history, the clock, billing's live figures) and none of which holds for the
# bench's callers, so every rule runs and the scenario's answers stay the same
BENCH_ROUTE = {"route": [
    {"when": 'now.holiday && caller.region == "ZZ"', "then": "menu"},
    {"when": "has(contact.account_value) && contact.account_value >= 100000000.0", "then": "billing_q"},
    {"when": "call.repeat_caller && call.calls_today >= 1000000", "then": "billing_q"},
    {"when": "queues.billing.waiting > 1000000 && queues.billing.longest_wait_s > 120.0", "then": "billing_q"},
], "else": "menu"}


def bench_config(tmp: Path, route: bool = False) -> Path:
    """The demo config with every hours node and queue on an always-open schedule, so that
    the scenario (menu, then queue) does not depend on the time of day or on holidays; `route`:
    with BENCH_ROUTE between the opening-hours check and the menu."""
    from contactcenter.config import load_config

    data = read_yaml((REPO / "config" / "demo.yaml").read_text(encoding="utf-8"))   # as the service reads it
    data.setdefault("hours", {})["bench_always"] = {"weekly": {"mon-sun": "00:00-24:00"}}
    for queue in (data.get("queues") or {}).values():
        if isinstance(queue, dict) and "hours" in queue:
            queue["hours"] = "bench_always"
    for flow in data["flows"].values():
        for node in flow["nodes"].values():
            if isinstance(node, dict) and "hours" in node:
                node["hours"] = "bench_always"
    if route:
        nodes = data["flows"]["main"]["nodes"]
        nodes["triage"] = BENCH_ROUTE
        nodes["open_check"]["open"] = "triage"
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


def start_servers(tmp: Path, redis_url: str, workers: int, known_share: float, servers: list[Server],
                  said: str | None = None, route: bool = False):
    """The config, the database and both servers, started and ready (appended to `servers` as soon as they
    exist, so that the caller can show their logs if starting fails); (the contact center, seeding's
    report)."""
    instance = tmp / "instance"
    instance.mkdir()
    config = bench_config(tmp, route)
    db_url = f"sqlite:///{instance / 'callrouter.db'}"
    from contactcenter.config import load_config
    cc = load_config(config)

    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    env.update({
        "REDIS_URL": redis_url, "DATABASE_URL": db_url, "CALLROUTER_CONFIG": str(config),
        "CALLROUTER_INSTANCE": str(instance), "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_API_URL": "http://127.0.0.1:9",
        "ADMIN_TOKEN": ADMIN_TOKEN, "SECRET_KEY": "bench-secret-key",
        "LOG_LEVEL": "warning", "PYTHONDONTWRITEBYTECODE": "1",
    })
    seeded = prepare_database(db_url, env)
    servers += [Server("service", "wsgi:app", env, workers, tmp),
                Server("baseline", "bench.minimal_app:app", env, workers, tmp)]
    for s in servers:
        s.caller.known_share = known_share
        s.caller.said = said
        s.start()
    for s in servers:
        s.wait_ready()
    return cc, seeded
