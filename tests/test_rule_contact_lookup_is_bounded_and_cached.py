"""Routing rules' contact (screenpop/rule_contact.py): the caller's CRM contact flattened for CEL
(`contact.<field>`: built-in fields win over custom ones, None left out), `{}` for an unknown
caller, a failing CRM or a lookup that takes longer than the rule may wait, which still fills the
cache for the caller's next turn; answers are cached `ttl_s`, in a bounded cache. The CSAT comes
from the call records in real SQL (SQLite)."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from functools import partial

import pytest

from screenpop.adapters import CrmUnavailable, SqlCrm
from screenpop.prefetch import caller_csat
from screenpop.rule_contact import FAILURE_TTL_S, RuleContacts, flatten
from store.db import make_engine, make_session_factory, migrate
from store.records import upsert_call_record
from store.seed import seed

DANA, UNKNOWN = "+14155550100", "+12125550123"
CONTACT = {"id": 7, "name": "Dana Reyes", "company": None, "tier": "vip", "account_value": 125000.0,
           "notes": "Renewal", "tags": ["enterprise"],
           "fields": {"plan": "gold", "seats": 12, "tier": "custom tier", "csat_avg": 1.0, "churn": None}}


class FakeCrm:
    """Answers from a dict, after `delay_s`, or raises `error`; counts the lookups."""

    def __init__(self, contacts: dict, delay_s: float = 0.0, error: Exception | None = None):
        self.contacts, self.delay_s, self.error, self.asked = contacts, delay_s, error, []
        self.source = "fake"

    def lookup(self, e164: str) -> dict | None:
        self.asked.append(e164)
        time.sleep(self.delay_s)
        if self.error is not None:
            raise self.error
        return self.contacts.get(e164)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_contact_is_flattened_built_in_fields_win_and_none_is_left_out():
    contacts = RuleContacts(FakeCrm({DANA: CONTACT}), lambda e164: 4.5, wait_s=1)
    assert contacts(DANA) == {"name": "Dana Reyes", "tier": "vip", "account_value": 125000.0, "tags": ["enterprise"],
                              "csat_avg": 4.5, "plan": "gold", "seats": 12}
    assert flatten({"name": "Ana", "tier": None, "tags": []}) == {"name": "Ana", "tags": []}     # has(contact.tier)


def test_an_unknown_caller_is_an_empty_contact_and_is_cached():
    crm = FakeCrm({DANA: CONTACT})
    contacts = RuleContacts(crm, None, wait_s=1)
    assert contacts(UNKNOWN) == {} and contacts(UNKNOWN) == {} and contacts.peek(UNKNOWN) == {}
    assert crm.asked == [UNKNOWN] and contacts("") == {} and contacts.peek(DANA) is None


@pytest.mark.parametrize("error", [CrmUnavailable("timed out after 2 s"), RuntimeError("adapter bug")])
def test_a_failing_crm_is_an_empty_contact_asked_again_soon(error):
    clock = Clock()
    crm = FakeCrm({DANA: CONTACT}, error=error)
    contacts = RuleContacts(crm, None, wait_s=1, ttl_s=60, clock=clock)
    assert contacts(DANA) == {} and contacts(DANA) == {} and len(crm.asked) == 1
    crm.error = None
    clock.now += FAILURE_TTL_S + 0.1
    assert contacts(DANA)["name"] == "Dana Reyes" and len(crm.asked) == 2


def test_a_failing_csat_leaves_the_rest_of_the_contact():
    def broken(e164):
        raise OSError("database away")
    assert RuleContacts(FakeCrm({DANA: CONTACT}), broken, wait_s=1)(DANA)["tier"] == "vip"


def test_a_slow_crm_is_not_waited_for_and_its_late_answer_serves_the_next_turn():
    crm = FakeCrm({DANA: CONTACT}, delay_s=0.5)
    contacts = RuleContacts(crm, None, wait_s=0.05)
    started = time.monotonic()
    assert contacts(DANA) == {}
    assert time.monotonic() - started < 0.1
    assert contacts.peek(DANA) is None and contacts(DANA) == {}          # still under way: not asked twice
    deadline = time.monotonic() + 2
    while contacts.peek(DANA) is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert contacts.peek(DANA)["name"] == "Dana Reyes" and contacts(DANA)["plan"] == "gold"
    assert crm.asked == [DANA]


def test_callers_asking_at_once_share_one_lookup():
    crm = FakeCrm({DANA: CONTACT}, delay_s=0.1)
    contacts = RuleContacts(crm, None, wait_s=1)
    got = []
    threads = [threading.Thread(target=lambda: got.append(contacts(DANA))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert crm.asked == [DANA] and len(got) == 8 and all(g["name"] == "Dana Reyes" for g in got)


def test_answers_are_cached_ttl_s_and_a_changed_contact_is_seen_after():
    clock = Clock()
    crm = FakeCrm({DANA: CONTACT})
    contacts = RuleContacts(crm, None, wait_s=1, ttl_s=60, clock=clock)
    assert contacts(DANA)["tier"] == "vip"
    crm.contacts[DANA] = {**CONTACT, "tier": "gold"}
    clock.now += 59
    assert contacts(DANA)["tier"] == "vip" and len(crm.asked) == 1
    clock.now += 2
    assert contacts.peek(DANA) is None and contacts(DANA)["tier"] == "gold" and len(crm.asked) == 2


def test_the_cache_is_bounded():
    crm = FakeCrm({})
    contacts = RuleContacts(crm, None, wait_s=1, max_entries=20)
    numbers = [f"+1415555{i:04d}" for i in range(100)]
    for number in numbers:
        assert contacts(number) == {}
    assert len(contacts._cache) <= 20 and contacts.peek(numbers[-1]) == {}


def test_the_built_in_crm_and_the_call_records_csat_on_real_sql(tmp_path):
    url = f"sqlite:///{tmp_path / 'rules.db'}"
    migrate(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    arrived = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)
    with sessions() as s:
        seed(s, [], [{"phone": DANA, "name": "Dana Reyes", "tier": "vip", "fields": {"plan": "gold", "seats": 12}}])
        for i, csat in enumerate((5, 4, None)):
            upsert_call_record(s, {"call_sid": f"CAold{i}", "from_number": DANA, "csat": csat,
                                   "arrived_at": arrived - timedelta(hours=i + 1)})
        s.commit()
    assert caller_csat(sessions, DANA) == 4.5 and caller_csat(sessions, UNKNOWN) is None
    contacts = RuleContacts(SqlCrm(sessions), partial(caller_csat, sessions), wait_s=2)
    assert contacts(DANA) == {"name": "Dana Reyes", "tier": "vip", "tags": [], "csat_avg": 4.5,
                              "plan": "gold", "seats": 12}
    assert contacts(UNKNOWN) == {}
    engine.dispose()


def test_a_number_the_crm_surely_lacks_is_answered_without_a_lookup():
    crm = FakeCrm({DANA: CONTACT})
    contacts = RuleContacts(crm, None, wait_s=0.5, may_know=lambda number: number == DANA)
    assert contacts(UNKNOWN) == {} and crm.asked == []
    assert contacts(DANA)["plan"] == "gold" and crm.asked == [DANA]
