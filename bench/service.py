"""The service as `make run` starts it, for the benches that measure it from outside:
`python -m webhooks.serve` (gunicorn web + rq worker, embedded Redis, SQLite) in a temporary
instance directory, with the demo config open around the clock. Not a test helper: tests use
tests/live_service.py, which runs on the test Redis instead of the embedded one.
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
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
        self.log = open(self.tmp / "service.log", "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "webhooks.serve"], cwd=REPO, env=full,
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if self.request("GET", "/api/health")[0] == 200:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        self._end()
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

    def _end(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()

    def stop(self):
        self._end()
        shutil.rmtree(self.tmp, ignore_errors=True)
