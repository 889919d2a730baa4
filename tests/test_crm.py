"""Built-in CRM lookup, on SQLite and on local PostgreSQL.

Fixtures are repeated from test_store.py on purpose: each test file stands
alone (no conftest.py). PostgreSQL cases skip when the server is
unreachable, unless CI is set.
"""
from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from screenpop.crm import ContactInfo, find_contact_by_phone, split_name
from store.db import make_engine, make_session_factory, migrate
from store.seed import seed
from tests.conftest import PG_URL

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def crm_schema(pg_admin):
    """One migrated schema for this module's PostgreSQL cases, dropped at the end."""
    schema = f"crtest_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    kwargs = {"connect_args": {"options": f"-csearch_path={schema}"}}
    migrate(PG_URL, **kwargs)
    yield kwargs
    with pg_admin.connect() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def session(request, tmp_path):
    if request.param == "sqlite":
        url, kwargs = f"sqlite:///{tmp_path / 'crm.db'}", {}
        migrate(url)
    else:
        url, kwargs = PG_URL, request.getfixturevalue("crm_schema")
    engine = make_engine(url, **kwargs)
    with make_session_factory(engine)() as s:
        seed(s, [], [
            {"phone": "+14155550100", "name": "Dana Whitfield", "company": "Acme Corp",
             "account_value": 125000.5, "tier": "vip", "notes": "Renewal in March",
             "tags": ["enterprise", "renewal"]},
            {"phones": ["+442071838750", "+447700900123"], "name": "Prince"},
            {"phone": "+34911222333", "name": "Mary Ann  Smith"},
        ])
        yield s
    # The PostgreSQL schema is shared by this module's tests: empty it again.
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM contacts")
    engine.dispose()


def test_hit_returns_full_contact(session):
    info = find_contact_by_phone(session, "+14155550100")
    assert isinstance(info, ContactInfo)
    assert (info.name, info.first_name, info.last_name) == ("Dana Whitfield", "Dana", "Whitfield")
    assert (info.company, info.tier, info.notes) == ("Acme Corp", "vip", "Renewal in March")
    assert info.account_value == 125000.5 and isinstance(info.account_value, float)
    assert list(info.tags) == ["enterprise", "renewal"]
    assert isinstance(info.id, int)


def test_any_of_several_numbers_and_single_word_name(session):
    a = find_contact_by_phone(session, "+442071838750")
    b = find_contact_by_phone(session, "+447700900123")
    assert a == b
    assert (a.first_name, a.last_name, a.account_value, a.company) == ("Prince", "", None, None)


def test_middle_names_are_skipped(session):
    info = find_contact_by_phone(session, "+34911222333")
    assert (info.first_name, info.last_name) == ("Mary", "Smith")


def test_miss_and_no_partial_match(session):
    assert find_contact_by_phone(session, "+14155550199") is None
    assert find_contact_by_phone(session, "4155550100") is None  # exact E.164 only
    assert find_contact_by_phone(session, "") is None


def test_split_name_edge_cases():
    assert split_name("") == ("", "")
    assert split_name("  Cher ") == ("Cher", "")


def test_store_and_screenpop_do_not_import_flask():
    code = ("import sys, store.db, store.models, store.records, store.seed, screenpop.crm;"
            "sys.exit('flask' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr or "flask was imported"
