"""Shared fixtures: a real Redis flushed per test, a migrated SQLite per test,
an app built from the demo config, an injectable clock and signed Twilio calls."""
from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
import redis as redis_lib

from service.app import create_app
from service.services import build
from service.worker import JobWorker
from store.db import migrate
from store.settings import from_env
from tests.twilio import TwilioTester

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "config" / "demo.yaml"
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
ACCOUNT_SID = "AC" + "1" * 32
# A dedicated database number so a test run never flushes anything else; the
# end-to-end service uses the number two below it.
REDIS_URL = os.environ.get("CALLROUTER_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
E2E_REDIS_URL = REDIS_URL.rsplit("/", 1)[0] + "/" + str(int(REDIS_URL.rsplit("/", 1)[1]) - 2)
# The fault suite (tests/faults, `make faults`) kills and pauses a Redis of its own and takes minutes:
# `make test` (pytest over testpaths) leaves it out; naming it (`pytest tests/faults`) runs it.
collect_ignore = ["faults"]


@pytest.fixture(scope="session", autouse=True)
def _one_test_run_per_redis_database():
    """Two test runs flushing the same Redis database would corrupt each other: wait our turn."""
    lock_path = Path(tempfile.gettempdir()) / f"callrouter-tests-{REDIS_URL.rsplit('/', 2)[-2]}-{REDIS_URL.rsplit('/', 1)[1]}.lock"
    with open(lock_path, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"\nanother test run uses {REDIS_URL}; waiting for it", flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


class Clock:
    """A settable clock for hours and timestamps (aware UTC)."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def redis_client():
    client = redis_lib.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis_lib.ConnectionError as exc:
        pytest.fail(f"no Redis at {REDIS_URL}: {exc} (start one: redis-server --daemonize yes)")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "callrouter.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture
def settings_env(tmp_path, migrated_template):
    instance = tmp_path / "instance"
    instance.mkdir()
    shutil.copy(migrated_template, instance / "callrouter.db")
    return {
        "REDIS_URL": REDIS_URL,
        "DATABASE_URL": f"sqlite:///{instance / 'callrouter.db'}",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_API_URL": "http://127.0.0.1:9",   # nothing listens: tests never reach Twilio
        "CALLROUTER_CONFIG": str(DEMO),
        "ADMIN_TOKEN": "test-admin-token",
        "SECRET_KEY": "test-secret",
        "CALLROUTER_INSTANCE": str(instance),
    }


@pytest.fixture
def clock():
    # A Monday, 10:00 in New York, 16:00 in Madrid: the demo's lines are open.
    return Clock(datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc))


@pytest.fixture
def make_app(settings_env, redis_client, clock):
    def build(env_overrides: dict | None = None, **config):
        env = {**settings_env, **(env_overrides or {})}
        return create_app({"SETTINGS": from_env(env), "CLOCK": clock, "TESTING": True, **config})
    return build


@pytest.fixture
def app(make_app):
    return make_app()


def seed_demo(rt) -> None:
    """The config's agents and CRM contacts into SQL (service objects `rt`)."""
    from store.seed import seed
    with rt.sessions() as session:
        seed(session, list(rt.cc.agents), list(rt.cc.contacts), default_timezone=rt.cc.timezone)


def staff_on_break(rt, now) -> None:
    """The seeded agents mirrored into Redis and logged in on break: queues hold callers, nobody is
    offered yet."""
    rt.agents.mirror_from_sql(rt.sessions, now)
    for agent in rt.cc.agents:
        rt.acd.set_status(agent["id"], "break", now)


@pytest.fixture
def seeded(app):
    seed_demo(app.extensions["callrouter"])
    return app


@pytest.fixture
def services(settings_env, redis_client, clock):
    """The service objects without Flask, for the use cases: the demo's agents seeded, mirrored and
    logged in on break (queues hold callers, nobody is offered yet)."""
    built = build(from_env(settings_env), redis_client=redis_client, clock=clock)
    seed_demo(built)
    staff_on_break(built, clock.now)
    yield built
    built.engine.dispose()


def dial_legs_offline(acd, monkeypatch) -> list[dict]:
    """Stand in for Twilio's Participants create on the ACD's conference line: every agent leg the
    service dials is noted and answered with a new leg and conference sid, as Twilio would; the REST
    API itself is never reached from these tests."""
    asked = []

    def add(conference, to, from_, status_url, conference_url, **options):
        leg, conference_sid = "CA" + secrets.token_hex(16), "CF" + secrets.token_hex(16)
        asked.append({"conference": conference, "to": to, "status_url": status_url, "leg": leg, **options})
        return leg, conference_sid
    monkeypatch.setattr(acd.line, "add", add)
    return asked


@pytest.fixture
def legs_dialed(app, monkeypatch):
    """The agents' legs the app dials into conferences (see dial_legs_offline)."""
    return dial_legs_offline(app.extensions["callrouter"].acd, monkeypatch)


@pytest.fixture
def twilio(app):
    return TwilioTester(app.test_client(), AUTH_TOKEN)


@pytest.fixture
def run_jobs(app, redis_client):
    """Run the queued RQ jobs in this process with a real worker (burst mode)."""
    def run() -> int:
        rt = app.extensions["callrouter"]
        worker = JobWorker([rt.jobs], connection=rt.redis, services=rt)
        worker.work(burst=True)
        return rt.jobs.count
    return run


@pytest.fixture
def staffed(seeded, clock):
    """The demo's agents logged in but on break: queues hold callers, nobody is offered yet."""
    staff_on_break(seeded.extensions["callrouter"], clock.now)
    return seeded


PG_URL = os.environ.get("CALLROUTER_TEST_PG_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def pg_admin():
    """An autocommit engine on the local PostgreSQL; the cases that need it skip when it is
    unreachable, except under CI (CI=true), where that is a failure."""
    from sqlalchemy.exc import OperationalError

    from store.db import make_engine, ping
    engine = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        ping(engine)
    except OperationalError as exc:
        engine.dispose()
        detail = str(exc.orig or exc).strip().splitlines()[0]
        reason = f"PostgreSQL not reachable at {PG_URL} (set CI to make this fail): {detail}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_schema(pg_admin):
    """A fresh, empty schema for one test: (url with search_path, engine kwargs); dropped after."""
    import uuid
    schema = f"crtest_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    yield (f"{PG_URL}?options=-csearch_path%3D{schema}",
           {"connect_args": {"options": f"-csearch_path={schema}"}})
    with pg_admin.connect() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
