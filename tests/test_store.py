"""SQL store tests, each run on SQLite (a tmp file) and on local PostgreSQL.

PostgreSQL cases use a fresh schema per test (search_path via connect_args,
dropped in teardown) and are skipped when the server is unreachable, unless CI is set.
Override the server with CALLROUTER_TEST_PG_URL.
"""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import delete, inspect, select
from sqlalchemy.exc import IntegrityError, OperationalError

from store.db import alembic_config, make_engine, make_session_factory, migrate, ping
from store.models import Agent, Base, CallRecord, Contact, ContactPhone
from store.records import get_call_record, recent_calls_from, upsert_call_record
from store.seed import seed
from tests.conftest import PG_URL

REPO = Path(__file__).resolve().parent.parent


# --- fixtures (PostgreSQL ones come from conftest.py) ------------------------

@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    """(url, engine_kwargs) of an empty database."""
    if request.param == "sqlite":
        # A missing sub-directory also checks that make_engine creates it.
        yield f"sqlite:///{tmp_path / 'instance' / 'test.db'}", {}
        return
    _url, kwargs = request.getfixturevalue("pg_schema")
    yield PG_URL, kwargs


@pytest.fixture
def engine(db):
    url, kwargs = db
    migrate(url, **kwargs)
    eng = make_engine(url, **kwargs)
    yield eng
    eng.dispose()


@pytest.fixture
def Session(engine):
    return make_session_factory(engine)


def schema_diff(engine) -> list:
    """What autogenerate would add to make the database match the models."""
    with engine.connect() as conn:
        opts = {"compare_type": True, "compare_server_default": True}
        return compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)


# --- engine and migrations ---------------------------------------------------

def test_sqlite_pragmas_parent_dir_and_cwd_independence(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # migrate must find store/migrations from anywhere
    path = tmp_path / "a" / "b" / "x.db"
    migrate(f"sqlite:///{path}")
    eng = make_engine(f"sqlite:///{path}")
    try:
        with eng.connect() as conn:
            pragma = lambda name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
            assert pragma("foreign_keys") == 1
            assert pragma("journal_mode") == "wal"
            assert pragma("busy_timeout") == 5000
        assert "call_records" in inspect(eng).get_table_names()
    finally:
        eng.dispose()


def test_migrate_matches_models(db):
    url, kwargs = db
    migrate(url, **kwargs)
    eng = make_engine(url, **kwargs)
    try:
        assert schema_diff(eng) == []
        assert set(inspect(eng).get_table_names()) >= {
            "agents", "contacts", "contact_phones", "call_records", "alembic_version",
        }
    finally:
        eng.dispose()


def test_schema_diff_detects_drift(engine):
    # Guards the test above against comparing nothing.
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_call_records_queue_arrived_at")
    assert any(d[0] == "add_index" for d in schema_diff(engine))


def test_upgrade_from_the_first_revision_keeps_agents(db):
    """A database migrated by an earlier release takes the later revisions with its rows."""
    from alembic import command
    url, kwargs = db
    engine = make_engine(url, **kwargs)
    config = alembic_config(url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001_initial")
        conn.exec_driver_sql("INSERT INTO agents (id, name, skills, languages, timezone, created_at, updated_at) "
                             "VALUES ('old', 'Old Agent', '{}', '[]', 'UTC', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")
    engine.dispose()
    migrate(url, **kwargs)
    engine = make_engine(url, **kwargs)
    with make_session_factory(engine)() as s:
        assert s.get(Agent, "old").auto_accept is False
    assert schema_diff(engine) == []
    engine.dispose()


def test_migrate_twice_is_noop(db, engine, Session):
    url, kwargs = db
    with Session.begin() as s:
        s.add(Agent(id="alice", name="Alice"))
    migrate(url, **kwargs)
    with engine.connect() as conn:
        versions = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars()
        assert versions.all() == [ScriptDirectory.from_config(alembic_config(url)).get_current_head()]
    assert schema_diff(engine) == []
    with Session() as s:
        assert s.get(Agent, "alice").name == "Alice"


def test_alembic_cli_from_repo_root(tmp_path):
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'cli' / 'cli.db'}")
    run = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "cli" / "cli.db").exists()


def test_ping(engine):
    ping(engine)
    dead = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/nowhere",
                       connect_args={"connect_timeout": 2})
    with pytest.raises(OperationalError):
        ping(dead)
    dead.dispose()


# --- call records --------------------------------------------------------------

def test_upsert_insert_then_repeat_changes_nothing(Session):
    data = {
        "call_sid": "CA" + "1" * 32, "workspace": "acme", "from_number": "+14155550100",
        "to_number": "client:alice", "ivr_path": ["main", "billing"],
        "ivr_inputs": [{"node": "main", "kind": "digits", "value": "1", "at": 1.5}],
        "journey": [{"step": "enqueue", "queue": "billing"}], "queue": "billing",
        "arrived_at": 1_700_000_000.25, "outcome": "answered", "agent_id": "alice",
    }
    with Session.begin() as s:
        first = upsert_call_record(s, data)
    with Session() as s:
        again = upsert_call_record(s, dict(data))
        assert not s.dirty and not s.new
        s.commit()
        assert again.updated_at == first.updated_at
        assert again.ivr_inputs == data["ivr_inputs"]
        assert again.journey == data["journey"]
    with Session() as s:
        assert s.scalars(select(CallRecord)).all() == [s.get(CallRecord, data["call_sid"])]


def test_upsert_merges_and_keeps_known_fields(Session):
    sid = "CA" + "2" * 32
    with Session.begin() as s:
        upsert_call_record(s, {"call_sid": sid, "from_number": "+14155550100",
                               "queue": "sales", "outcome": "voicemail"})
    with Session.begin() as s:  # late transcription callback
        upsert_call_record(s, {"call_sid": sid, "from_number": None, "queue": None,
                               "voicemail_transcript": "please call back"})
    with Session() as s:
        rec = get_call_record(s, sid)
        assert (rec.from_number, rec.queue, rec.outcome) == ("+14155550100", "sales", "voicemail")
        assert rec.voicemail_transcript == "please call back"
        assert rec.workspace == "default" and rec.ivr_path == []


def test_upsert_transcript_before_call_creates_row(Session):
    sid = "CA" + "3" * 32
    with Session.begin() as s:
        upsert_call_record(s, {"call_sid": sid, "voicemail_transcript": "hi"})
    with Session.begin() as s:
        upsert_call_record(s, {"call_sid": sid, "from_number": "+34911222333",
                               "arrived_at": datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)})
    with Session() as s:
        rec = get_call_record(s, sid)
        assert rec.voicemail_transcript == "hi" and rec.from_number == "+34911222333"
        assert rec.arrived_at == datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def test_epoch_and_offset_datetimes_read_back_as_aware_utc(Session):
    sid = "CA" + "4" * 32
    madrid = timezone(timedelta(hours=1))
    with Session.begin() as s:
        upsert_call_record(s, {
            "call_sid": sid, "arrived_at": 1_700_000_000.5,
            "answered_at": datetime(2025, 3, 1, 10, 0, tzinfo=madrid),
            "ended_at": datetime(2025, 3, 1, 9, 30),  # naive = UTC
        })
    with Session() as s:
        rec = get_call_record(s, sid)
        for value in (rec.arrived_at, rec.answered_at, rec.ended_at, rec.created_at):
            assert value.utcoffset() == timedelta(0)
        assert rec.arrived_at.timestamp() == 1_700_000_000.5
        assert rec.answered_at == datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)
        assert rec.ended_at == datetime(2025, 3, 1, 9, 30, tzinfo=timezone.utc)


def test_upsert_rejects_bad_input_and_does_not_commit(Session):
    with Session() as s:
        with pytest.raises(ValueError, match="unknown call record field"):
            upsert_call_record(s, {"call_sid": "CA1", "colour": "blue"})
        with pytest.raises(ValueError, match="updated_at"):
            upsert_call_record(s, {"call_sid": "CA1", "updated_at": 1.0})
        with pytest.raises(ValueError, match="call_sid"):
            upsert_call_record(s, {"queue": "sales"})
        with pytest.raises(ValueError, match="arrived_at"):
            upsert_call_record(s, {"call_sid": "CA1", "arrived_at": [1]})
        upsert_call_record(s, {"call_sid": "CA5", "queue": "sales"})
        s.rollback()  # the caller owns the transaction
    with Session() as s:
        assert get_call_record(s, "CA1") is None and get_call_record(s, "CA5") is None


def test_recent_calls_from_newest_first_with_limit(Session):
    base = datetime(2025, 5, 1, 12, 0, tzinfo=timezone.utc)
    with Session.begin() as s:
        for i in (3, 0, 6, 1, 5, 2, 4):
            upsert_call_record(s, {"call_sid": f"CA{i}", "from_number": "+14155550100",
                                   "arrived_at": base + timedelta(minutes=i)})
        upsert_call_record(s, {"call_sid": "CAother", "from_number": "+14155550199",
                               "arrived_at": base + timedelta(hours=1)})
    with Session() as s:
        sids = lambda **kw: [r.call_sid for r in recent_calls_from(s, "+14155550100", **kw)]  # noqa: E731
        assert sids() == ["CA6", "CA5", "CA4", "CA3", "CA2"]
        assert sids(limit=2) == ["CA6", "CA5"]
        assert recent_calls_from(s, "+10000000000") == []


# --- contacts, constraints, seed --------------------------------------------------

def test_unique_phone_constraint(Session):
    with Session() as s:
        s.add(Contact(name="A", phones=[ContactPhone(e164="+14155550100")]))
        s.commit()
        s.add(Contact(name="B", phones=[ContactPhone(e164="+14155550100")]))
        with pytest.raises(IntegrityError):
            s.commit()


def test_contact_delete_cascades_in_database(Session):
    with Session.begin() as s:
        contact = Contact(name="A", phones=[ContactPhone(e164="+14155550100")])
        s.add(contact)
        s.flush()
        upsert_call_record(s, {"call_sid": "CA9", "contact_id": contact.id})
    with Session.begin() as s:  # Core delete: only the database's FK actions run
        s.execute(delete(Contact))
    with Session() as s:
        assert s.scalars(select(ContactPhone)).all() == []
        assert get_call_record(s, "CA9").contact_id is None


AGENTS = [
    {"id": "alice", "name": "Alice Smith", "skills": {"billing": 5}, "timezone": "Europe/Madrid",
     "schedule": {"mon-fri": "09:00-17:00"}, "languages": ["en", "es"]},
    {"id": "bob", "name": "Bob Jones", "skills": {"sales": 7}},
]
CONTACTS = [
    {"phone": "+14155550100", "name": "Dana Whitfield", "company": "Acme",
     "account_value": 125000, "tier": "vip", "notes": "Renewal due", "tags": ["enterprise"]},
    {"phones": ["+442071838750", "+447700900123"], "name": "Sam Lee", "account_value": 99.999},
]


def test_seed_creates_then_is_idempotent(Session):
    with Session() as s:
        assert seed(s, AGENTS, CONTACTS, default_timezone="America/New_York") == {
            "agents_created": 2, "agents_updated": 0, "contacts_created": 2,
            "contacts_updated": 0, "phones_added": 3,
        }
    with Session() as s:
        stamps = {a.id: a.updated_at for a in s.scalars(select(Agent))}
        stamps.update({c.id: c.updated_at for c in s.scalars(select(Contact))})
        assert set(seed(s, AGENTS, CONTACTS, default_timezone="America/New_York").values()) == {0}
    with Session() as s:
        bob = s.get(Agent, "bob")
        assert (bob.timezone, bob.schedule, bob.languages) == ("America/New_York", None, [])
        assert s.get(Agent, "alice").schedule == {"mon-fri": "09:00-17:00"}
        assert {a.id: a.updated_at for a in s.scalars(select(Agent))}.items() <= stamps.items()
        sam = s.scalars(select(Contact).where(Contact.name == "Sam Lee")).one()
        assert sam.account_value == 100.0 and sam.updated_at == stamps[sam.id]


def test_seed_updates_by_phone_and_leaves_others_alone(Session):
    with Session() as s:
        seed(s, AGENTS, CONTACTS)
        s.add(Agent(id="carol", name="Carol (API)"))
        s.get(Agent, "alice").token_hash = "hash-from-api"
        s.commit()
        dana_id = s.scalars(select(ContactPhone.contact_id).where(
            ContactPhone.e164 == "+14155550100")).one()
    agents = [dict(AGENTS[0], name="Alice S.", skills={"billing": 9}), AGENTS[1]]
    contacts = [dict(CONTACTS[0], phone=None, phones=["+1 (415) 555-0199", "+14155550100"],
                     tier="gold"), CONTACTS[1]]
    with Session() as s:
        counts = seed(s, agents, contacts)
    assert counts == {"agents_created": 0, "agents_updated": 1, "contacts_created": 0,
                      "contacts_updated": 1, "phones_added": 1}
    with Session() as s:
        alice = s.get(Agent, "alice")
        assert (alice.name, alice.skills, alice.token_hash) == ("Alice S.", {"billing": 9},
                                                                "hash-from-api")
        assert s.get(Agent, "carol").name == "Carol (API)"
        dana = s.get(Contact, dana_id)
        assert dana.tier == "gold"
        assert sorted(p.e164 for p in dana.phones) == ["+14155550100", "+14155550199"]
        assert len(s.scalars(select(Contact)).all()) == 2


def test_seed_rejects_bad_config(Session):
    with Session() as s:
        with pytest.raises(ValueError, match="level"):
            seed(s, [{"id": "x", "name": "X", "skills": {"billing": 11}}], [])
        with pytest.raises(ValueError, match="more than one"):
            seed(s, [], [{"phone": "+14155550100", "name": "A"},
                         {"phones": ["+14155550100"], "name": "B"}])
        with pytest.raises(ValueError, match="E.164"):
            seed(s, [], [{"phone": "555-0100", "name": "A"}])
    with Session() as s:  # failed seeds roll back completely
        assert s.scalars(select(Agent)).all() == [] and s.scalars(select(Contact)).all() == []
