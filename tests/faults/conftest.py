"""The fault suite's harness (`make faults`; `make test` skips this directory, see tests/conftest.py).

Each scenario runs the real service as `make run` starts it (tests/live_service.py) against a private
redis-server on port 6397 (append-only file fsynced on every write, so a `kill -9` loses nothing it
acknowledged) and, where SQL is the fault, a PostgreSQL database of its own reached through a TCP
proxy the test can take away. Twilio is the simulator with its REST stand-in. Nothing here touches
the shared Redis on 6379 or the `test` database `make test` uses.
"""
from __future__ import annotations

import fcntl
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.faults import verdict
from tests.faults.outages import RedisServer, SqlProxy
from tests.live_service import free_port, live_service, simulated_twilio

SID = ACCOUNT = "AC" + "f" * 32
TOKEN = "faults-auth-token-" + "z" * 14
ADMIN = "faults-admin"
NUMBER = "+15005550006"
REDIS_PORT = 6397            # the suite's own ports (6397, 6398): never the shared 6379
PG_ADMIN_URL = os.environ.get("CALLROUTER_FAULTS_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PG_DATABASE = "callrouter_faults"


@pytest.fixture(scope="session", autouse=True)
def _one_test_run_per_redis_database():
    """Replaces tests/conftest.py's lock on the shared test database (this suite never uses it, and
    must not wait for a `make test` running beside it) with one on the suite's own Redis port."""
    with open(Path(tempfile.gettempdir()) / f"callrouter-faults-{REDIS_PORT}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"\nanother fault run uses port {REDIS_PORT}; waiting for it", flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    """A fresh private redis-server for one scenario."""
    server = RedisServer(tmp_path_factory.mktemp("redis"), REDIS_PORT)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sim(request):
    """Twilio for one scenario, at the module's TIME_SCALE (real seconds per simulated second)."""
    with simulated_twilio(SID, TOKEN, time_scale=getattr(request.module, "TIME_SCALE", 0.25)) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL database of the suite's own, created empty: (URL straight to it, TCP target).
    Skipped when PostgreSQL does not answer, except under CI, where that fails."""
    from sqlalchemy.exc import OperationalError

    from store.db import make_engine
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{PG_DATABASE}"')
    except OperationalError as exc:
        admin.dispose()
        reason = f"PostgreSQL not usable at {PG_ADMIN_URL}: {str(exc.orig or exc).strip().splitlines()[0]}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    url = admin.url.set(database=PG_DATABASE)
    yield url, (url.host or "127.0.0.1", url.port or 5432)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(scope="module")
def sql_proxy(postgres):
    """The proxy the service reaches PostgreSQL through: (proxy, the service's DATABASE_URL)."""
    url, target = postgres
    proxy = SqlProxy(free_port(), target)
    yield proxy, url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    proxy.close()


@contextmanager
def served(tmp: Path, sim, redis_url: str, database_url: str | None = None):
    """The service started as `make run` starts it, the simulator's number pointed at it (no simulator:
    Twilio's REST API on a closed port): (base URL, its DATABASE_URL, log path)."""
    database_url = database_url or f"sqlite:///{tmp / 'instance' / 'callrouter.db'}"
    api_url = sim.rest_url if sim is not None else "http://127.0.0.1:9"
    with live_service(tmp, account_sid=SID, auth_token=TOKEN, admin_token=ADMIN, api_url=api_url,
                      redis_url=redis_url, database_url=database_url) as (url, log, _config):
        if sim is not None:
            sim.number(NUMBER, f"{url}/voice/incoming", status_callback=f"{url}/voice/status",
                       fallback_url=f"{url}/voice/fallback")
        yield url, database_url, log


def pytest_terminal_summary(terminalreporter):
    """What each scenario measured, passed or not: the figures README's "Faults tried" quotes."""
    if verdict.MEASURED:
        terminalreporter.section("fault scenarios: the callers' truth and the service's")
        for text in verdict.MEASURED:
            terminalreporter.write_line(text)
