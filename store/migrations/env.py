"""Alembic environment for callrouter's SQL store.

Used two ways: programmatically by store.db.migrate (which hands over an open
connection in config.attributes["connection"]) and from the command line
(`alembic upgrade head` in the repository root, reading alembic.ini).
"""
from __future__ import annotations

import os
import sys
from logging.config import fileConfig
from pathlib import Path

from alembic import context

# The CLI runs this file without the repository on sys.path.
REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from store.db import make_engine  # noqa: E402
from store.models import Base  # noqa: E402

config = context.config
target_metadata = Base.metadata

# Only the CLI has an ini file; programmatic runs must not reset the
# application's logging.
if config.config_file_name is not None and config.attributes.get("connection") is None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    return (
        config.get_main_option("sqlalchemy.url")
        or os.environ.get("DATABASE_URL")
        or "sqlite:///instance/callrouter.db"
    )


def _configure(**kwargs) -> None:
    if "connection" in kwargs:
        is_sqlite = kwargs["connection"].dialect.name == "sqlite"
    else:
        is_sqlite = str(kwargs["url"]).startswith("sqlite")
    context.configure(
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode recreates the table.
        render_as_batch=is_sqlite,
        compare_type=True,
        **kwargs,
    )


def run_migrations_offline() -> None:
    _configure(url=database_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(database_url())
    try:
        with engine.connect() as connection:
            _configure(connection=connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
