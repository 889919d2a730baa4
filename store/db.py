"""Engines, sessions and schema migration for the SQL store.

The caller decides the database URL (see store.settings); this module only
turns it into a correctly configured engine. Web and worker processes share
one SQLite file in development, hence WAL and a busy timeout.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

SQLITE_PRAGMAS = (
    "PRAGMA foreign_keys=ON",  # off by default in SQLite; our cascades need it
    "PRAGMA journal_mode=WAL",  # readers do not block the writer (web + worker)
    "PRAGMA busy_timeout=5000",  # wait for the other process instead of failing
)


def _sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL, or None for in-memory databases."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _set_sqlite_pragmas(dbapi_conn, _record) -> None:
    cursor = dbapi_conn.cursor()
    try:
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


PG_CONNECT_TIMEOUT_S = 5
PG_POOL_TIMEOUT_S = 10
PG_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3}


def make_engine(url: str, **engine_kwargs: Any) -> Engine:
    """Create an engine for ``url``; extra keyword arguments go to create_engine.

    ``connect_args`` given by the caller are merged with ours (tests pass a
    PostgreSQL ``options=-csearch_path=...`` this way).
    """
    parsed = make_url(url)
    connect_args = dict(engine_kwargs.pop("connect_args", None) or {})
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        # Sessions are handed between threads by the web server's pool.
        connect_args.setdefault("check_same_thread", False)
        engine = create_engine(url, connect_args=connect_args, **engine_kwargs)
        event.listen(engine, "connect", _set_sqlite_pragmas)
        return engine
    # Long-lived worker processes outlive server-side idle timeouts.
    engine_kwargs.setdefault("pool_pre_ping", True)
    if parsed.get_backend_name() == "postgresql":
        # A database that does not answer (a host gone, a network blackhole) must cost a request a few
        # seconds and a 503, not a web worker for minutes: libpq's connect timeout, TCP keepalives that
        # notice a dead peer on an open connection in ~25 s, and a bounded wait for a pooled connection.
        if "connect_timeout" not in parsed.query:
            connect_args.setdefault("connect_timeout", PG_CONNECT_TIMEOUT_S)
        for name, value in PG_KEEPALIVES.items():
            if name not in parsed.query:
                connect_args.setdefault(name, value)
        engine_kwargs.setdefault("pool_timeout", PG_POOL_TIMEOUT_S)
    return create_engine(url, connect_args=connect_args, **engine_kwargs)


def make_session_factory(engine: Engine) -> sessionmaker:
    # expire_on_commit=False: objects stay readable after commit (e.g. when a
    # request commits and then renders the record it just wrote).
    return sessionmaker(bind=engine, expire_on_commit=False)


def alembic_config(url: str):
    """An Alembic Config that works from any current directory."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Config values go through ConfigParser interpolation: escape '%'
    # (URL-encoded passwords contain it).
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


# Arbitrary constant naming callrouter's migration lock on PostgreSQL.
_PG_MIGRATION_LOCK = 0x63616C6C  # "call"


def _lock_for_migration(connection) -> None:
    """Serialise concurrent migrate() calls (web and worker both start up).

    The loser waits, then finds the schema at head and does nothing, instead
    of failing on "table already exists". The lock lasts until commit.
    """
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
    elif dialect == "sqlite" and not connection.connection.dbapi_connection.in_transaction:
        # pysqlite runs DDL outside any transaction; take the write lock up
        # front (waits up to busy_timeout) so the whole upgrade is atomic.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def migrate(url: str, **engine_kwargs: Any) -> None:
    """Bring the database at ``url`` to the latest revision (alembic upgrade head).

    Runs on an engine from make_engine so SQLite gets the same pragmas as the
    application; ``engine_kwargs`` are passed through (e.g. connect_args).
    """
    from alembic import command

    cfg = alembic_config(url)
    engine = make_engine(url, **engine_kwargs)
    try:
        with engine.begin() as connection:
            _lock_for_migration(connection)
            # env.py uses this connection instead of building its own engine.
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")
    finally:
        engine.dispose()


def ping(engine: Engine) -> None:
    """Raise if the database cannot be reached (health checks, startup)."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1")).scalar_one()
