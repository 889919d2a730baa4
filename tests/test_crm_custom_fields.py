"""Contacts' custom fields (issue 18): the config's `fields` of a contact are seeded into SQL (and
re-seeding updates them, once), the built-in CRM returns them, the outside CRM's extra fields pass
through when they are plain values with CEL-able names and are dropped silently otherwise, and the
screen pop carries them. SQLite and local PostgreSQL (skipped when unreachable, unless CI is set)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from screenpop import pop
from screenpop.adapters import HttpCrm, SqlCrm, validate_contact
from screenpop.crm import find_contact_by_phone
from store.db import make_engine, make_session_factory, migrate
from store.models import Contact
from store.seed import seed
from tests import test_screenpop_fixtures as shared
from tests.test_screenpop_fixtures import DANA, NOW

fake_crm = shared.fake_crm

CONTACTS = [
    {"phone": DANA, "name": "Dana Whitfield", "tier": "vip",
     "fields": {"plan": "gold", "seats": 12, "churn_risk": False, "products": ["voice", "sms"]}},
    {"phone": "+442071838750", "name": "Sam Lee"},                     # an old config: no fields
]


@pytest.fixture(params=["sqlite", "postgresql"])
def sessions(request, tmp_path):
    if request.param == "sqlite":
        url, kwargs = f"sqlite:///{tmp_path / 'fields.db'}", {}
    else:
        url, kwargs = request.getfixturevalue("pg_schema")
    migrate(url, **kwargs)
    engine = make_engine(url, **kwargs)
    yield make_session_factory(engine)
    engine.dispose()


def test_seeding_stores_a_contacts_custom_fields_and_updates_them_once(sessions):
    with sessions() as s:
        assert seed(s, [], CONTACTS)["contacts_created"] == 2
    with sessions() as s:
        fields = {c.name: c.fields for c in s.scalars(select(Contact))}
        assert fields == {"Dana Whitfield": CONTACTS[0]["fields"], "Sam Lee": {}}
        assert seed(s, [], CONTACTS)["contacts_updated"] == 0                  # unchanged: no UPDATE
    changed = [dict(CONTACTS[0], fields={"plan": "platinum"}), CONTACTS[1]]
    with sessions() as s:
        assert seed(s, [], changed)["contacts_updated"] == 1
    with sessions() as s:
        assert s.scalars(select(Contact.fields).where(Contact.name == "Dana Whitfield")).one() == {"plan": "platinum"}
        assert seed(s, [], changed)["contacts_updated"] == 0


def test_the_built_in_crm_returns_the_custom_fields(sessions):
    with sessions() as s:
        seed(s, [], CONTACTS)
        info = find_contact_by_phone(s, DANA)
    assert hash(info) and info.custom_fields() == CONTACTS[0]["fields"]
    crm = SqlCrm(sessions)
    assert crm.lookup(DANA)["fields"] == CONTACTS[0]["fields"]
    assert crm.lookup("+442071838750")["fields"] == {}
    assert crm.lookup("+12125550123") is None


def test_the_outside_crms_extra_fields_pass_through_and_bad_ones_are_dropped(fake_crm):
    fake_crm.answers[DANA] = (200, {
        "name": "Dana", "tier": "vip", "plan": "gold", "seats": 12, "ratio": 0.5, "churn_risk": True,
        "products": ["voice", 2, False], "long_text": "x" * 900,
        "Plan": "capital", "has-dash": 1, "9lives": 1, "n" + "x" * 64: 1,          # names CEL cannot reach
        "nested": {"a": 1}, "nothing": None, "mixed": ["a", {"b": 1}], "many": list(range(21)),
        "huge": 10 ** 30, "fields": {"region_code": "emea", "plan": "platinum", "bad": [[1]]},
    }, 0)
    contact = HttpCrm(fake_crm.url).lookup(DANA)
    assert contact["name"] == "Dana" and contact["tier"] == "vip"
    assert contact["fields"] == {"region_code": "emea", "plan": "platinum", "seats": 12, "ratio": 0.5,
                                 "churn_risk": True, "products": ["voice", 2, False], "long_text": "x" * 500}


def test_the_outside_crm_without_extra_fields_says_no_fields_and_never_fails_over_them():
    assert "fields" not in validate_contact({"name": "Dana", "fields": "gold", "odd": {"x": 1}})
    assert "fields" not in validate_contact({"name": "Dana", "csat_avg": 5, "notes": "n", "id": 3})
    many = validate_contact({"name": "Dana", **{f"f{i}": i for i in range(80)}})
    assert len(many["fields"]) == 50 and many["fields"]["f0"] == 0
    assert validate_contact({"name": "Dana", "nan": float("nan"), "inf": float("inf"), "ok": 1.5})["fields"] == {
        "ok": 1.5}


def test_the_screen_pop_carries_the_custom_fields_only_when_there_are_some():
    context = {"state": "done", "crm_error": None, "csat_avg": None, "history": [],
               "contact": {"name": "Dana", "tags": [], "fields": {"plan": "<b>gold</b>", "seats": 12}}}
    assert pop.build({"from": DANA}, [], NOW, context)["contact"]["fields"] == {"plan": "<b>gold</b>", "seats": 12}
    context["contact"]["fields"] = {}
    assert "fields" not in pop.build({"from": DANA}, [], NOW, context)["contact"]
