"""Starting the service as `make run` does, from outside: `python -m service.serve` (migrations, seed,
gunicorn web + rq worker) on a free loopback port, in a process group of its own.

Shared by the benches and the end-to-end tests (tests/live_service.py), which differ only in what they
put around it: the functions below start it, wait for its health check and stop it; `Service` is the
benches' whole launcher (demo config open around the clock, embedded Redis and SQLite in a temporary
instance directory), while the tests run it on the test Redis with their own config. Imports nothing of
the service itself.
"""
from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port nobody listens on at the moment, on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_serving(env: dict[str, str], log: Path, *, preexec_fn=None) -> subprocess.Popen:
    """`python -m service.serve` from the repository with exactly `env`, its output in `log`, in a new
    session (stop_serving ends the whole group: gunicorn, its workers, the rq worker, an embedded Redis)."""
    with open(log, "w") as out:
        return subprocess.Popen([sys.executable, "-m", "service.serve"], cwd=REPO, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=preexec_fn)


def wait_healthy(proc: subprocess.Popen, port: int, timeout: float) -> bool:
    """True once GET /api/health answers 200 on `port`; False if the service exits or `timeout` s pass."""
    deadline = time.monotonic() + timeout
    while True:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        try:
            conn.request("GET", "/api/health")
            if conn.getresponse().status == 200:
                return True
        except OSError:
            pass
        finally:
            conn.close()
        if proc.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def stop_serving(proc: subprocess.Popen, timeout: float = 20.0) -> None:
    """SIGTERM to the service's process group, SIGKILL if it is not gone after `timeout` s."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    except ProcessLookupError:
        pass


class Service:
    """The running service; `request`/`api` talk HTTP to it, `stop` ends it and removes its files."""

    def __init__(self, workers: int, *, account_sid: str, auth_token: str, admin_token: str,
                 env: dict[str, str] | None = None, name: str = "bench"):
        self.admin_token = admin_token
        self.tmp = Path(tempfile.mkdtemp(prefix=f"{name}-"))
        config = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
        config["hours"]["support"] = {"timezone": "UTC", "weekly": {"mon-sun": "00:00-24:00"}}
        (self.tmp / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
        self.port = free_port()
        # embedded Redis and SQLite, and webhooks signed for the URL the bench calls
        full = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "PUBLIC_URL")}
        full.update(PORT=str(self.port), TWILIO_ACCOUNT_SID=account_sid, TWILIO_AUTH_TOKEN=auth_token,
                    ADMIN_TOKEN=admin_token, CALLROUTER_CONFIG=str(self.tmp / "config.yaml"),
                    CALLROUTER_INSTANCE=str(self.tmp / "i"), WEB_CONCURRENCY=str(workers), LOG_LEVEL="warning",
                    SECRET_KEY="bench", **(env or {}))
        self.proc = start_serving(full, self.tmp / "service.log")
        if not wait_healthy(self.proc, self.port, 90):
            stop_serving(self.proc, 30)
            raise SystemExit(f"the service did not start; see {self.tmp / 'service.log'}")

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def api(self, method, path, payload=None, token=None):
        return self.request(method, path, json.dumps(payload) if payload is not None else None,
                            {"Authorization": f"Bearer {token or self.admin_token}",
                             "Content-Type": "application/json"})

    def stop(self):
        stop_serving(self.proc, 30)
        shutil.rmtree(self.tmp, ignore_errors=True)
