"""The real service for end-to-end tests, started as `make run` starts it
(`python -m service.serve`: migrations, seed, gunicorn web + rq worker) on a free
loopback port, with the demo config open around the clock."""
from __future__ import annotations

import os
import signal
from contextlib import contextmanager
from pathlib import Path

import redis as redis_lib
import requests
import yaml

from bench.service import free_port, start_serving, stop_serving, wait_healthy

REPO = Path(__file__).resolve().parent.parent


def _die_with_parent() -> None:
    """A test run killed outright (timeout, Ctrl-C twice) must not leave its service ticking on the
    shared Redis database: the kernel sends SIGTERM when the test process dies (Linux)."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)     # PR_SET_PDEATHSIG
    except OSError:
        pass


@contextmanager
def live_service(tmp: Path, *, account_sid: str, auth_token: str, admin_token: str, api_url: str,
                 redis_url: str, adjust_config=None, database_url: str | None = None,
                 env: dict[str, str] | None = None):
    """Yield (base URL, log path, config dict); the service and its Redis database are gone after.
    `database_url` replaces the SQLite file under `tmp` (the fault suite's PostgreSQL behind a proxy),
    `env` adds or overrides variables of the service's environment."""
    config = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
    # Open around the clock, so the tests do not depend on when they run.
    config["hours"]["support"] = {"timezone": "UTC", "weekly": {"mon-sun": "00:00-24:00"}}
    for agent in config["agents"]:        # and the demo agents on shift around the clock, for the same reason
        agent.pop("schedule", None)
    if adjust_config:
        adjust_config(config)
    (tmp / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    redis_lib.Redis.from_url(redis_url).flushdb()
    port = free_port()
    extra = env or {}
    env = {**os.environ, "PORT": str(port), "REDIS_URL": redis_url,
           "DATABASE_URL": database_url or f"sqlite:///{tmp / 'instance' / 'callrouter.db'}",
           "TWILIO_ACCOUNT_SID": account_sid, "TWILIO_AUTH_TOKEN": auth_token,
           "CALLROUTER_CONFIG": str(tmp / "config.yaml"), "CALLROUTER_INSTANCE": str(tmp / "instance"),
           "ADMIN_TOKEN": admin_token, "SECRET_KEY": "e2e", "WEB_CONCURRENCY": "2", "TWILIO_API_URL": api_url}
    env.pop("PUBLIC_URL", None)
    env.update(extra)
    log = tmp / "service.log"
    proc = start_serving(env, log, preexec_fn=_die_with_parent)
    try:
        if not wait_healthy(proc, port, 60):
            raise RuntimeError(f"service did not start:\n{log.read_text()[-3000:]}")
        yield f"http://127.0.0.1:{port}", log, config
    finally:
        stop_serving(proc, 20)
        redis_lib.Redis.from_url(redis_url).flushdb()


@contextmanager
def simulated_twilio(account_sid: str, auth_token: str, **options):
    """Twilio for a test module: the simulator (options as twiliosim.Simulator takes them) with its
    REST API stand-in running; the service reaches it through TWILIO_API_URL = `rest_url`."""
    from twiliosim import Simulator
    from twiliosim.rest import RestServer

    simulator = Simulator(account_sid, auth_token, **options)
    try:
        with RestServer(simulator) as rest:
            simulator.rest_url = rest.url
            yield simulator
    finally:
        simulator.shutdown()


def point_number(sim, number: str, url: str) -> None:
    """Route `number` on the simulator to the service at `url` as the number's Twilio config would:
    its voice, status callback and fallback URLs."""
    sim.number(number, f"{url}/voice/incoming", status_callback=f"{url}/voice/status",
               fallback_url=f"{url}/voice/fallback")


def agents_on_break(url: str, config: dict, admin_token: str) -> None:
    """Every agent of `config` logged in on break: queues hold callers only while someone who could
    serve them is logged in."""
    for agent in config["agents"]:
        response = requests.post(f"{url}/api/agents/{agent['id']}/status", json={"status": "break"},
                                 headers={"Authorization": f"Bearer {admin_token}"}, timeout=5)
        assert response.status_code == 200, response.text
