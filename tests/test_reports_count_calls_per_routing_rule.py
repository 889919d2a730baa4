"""Reports by routing rule (issue 18): the record job keeps a row per rule a call took (a flow's route
node, its else, a queue's rules as the call joined), rewritten and never doubled when a late webhook
writes the record again; the report counts the calls per rule and, of those, how many were answered,
abandoned, left a voicemail or served themselves, on SQLite and PostgreSQL, as JSON and CSV."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from store.db import migrate
from store.models import CallRule
from store.records import rule_rows, upsert_call_record, write_call_rules
from store.reports import report, to_csv
from tests.people import make_user, page_login

T = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)          # 10:00 in New York (the demo's zone)
DAY = date(2026, 11, 23)
TZ = "America/New_York"
ADMIN = {"Authorization": "Bearer test-admin-token"}
SENIOR = "contact.account_value >= 100000.0"
ROUTE_SENIOR = {"event": "route", "node": "triage", "rule": 0, "when": SENIOR, "next": "senior_q"}
ROUTE_VIP = {"event": "route", "node": "triage", "rule": 1, "when": "contact.tier == 'vip'", "next": "vip_q"}
ROUTE_ELSE = {"event": "route", "node": "triage", "rule": None, "when": None, "next": "menu"}
QUEUE_RULES = {"event": "queue_rules", "node": "billing_q", "queue": "billing", "rules": [0, 2], "priority": 2,
               "skills": {"billing": 3}}


@pytest.fixture(params=["sqlite", "postgresql"])
def rt(request, make_app):
    """The service objects on SQLite, or on a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield make_app().extensions["callrouter"]
        return
    url, _kwargs = request.getfixturevalue("pg_schema")
    migrate(url)
    built = make_app({"DATABASE_URL": url}).extensions["callrouter"]
    yield built
    built.engine.dispose()


def call(rt, sid: str, steps: list[dict], minutes: float = 0, **state) -> str:
    """A call in Redis that took `steps`, its record written by the record job; its CallSid."""
    sid = "CA" + sid.ljust(32, "0")
    arrived = (T + timedelta(minutes=minutes)).timestamp()
    rt.calls.apply(sid, [{"event": "enter", "node": "triage"}, *steps], {"arrived_at": arrived, **state}, arrived,
                   new_call={"flow": "main", "from": "+14155550100"})
    rt.redis.hset(rt.keys.call(sid), "ended_at", arrived + 60)
    rt.records.sync(sid)
    return sid


def rules_of(rt, sid: str) -> list[tuple]:
    with rt.sessions() as db:
        return [(r.seq, r.day, r.flow, r.node, r.kind, r.rule, r.expression, r.target) for r in db.scalars(
            select(CallRule).where(CallRule.call_sid == sid).order_by(CallRule.seq))]


def rows(rt, since: date = DAY, until: date = DAY, **narrow) -> list[dict]:
    with rt.sessions() as db:
        return report(db, "acme", TZ, since, until, by="rule", **narrow)


def test_route_and_queue_rules_steps_become_the_calls_rule_rows(rt):
    sid = call(rt, "A", [ROUTE_SENIOR, {"event": "enter", "node": "billing_q"}, QUEUE_RULES, ROUTE_ELSE])
    assert rules_of(rt, sid) == [
        (0, "2026-11-23", "main", "triage", "route", 0, SENIOR, "senior_q"),
        (1, "2026-11-23", "main", "billing_q", "queue", 0, None, "billing"),
        (2, "2026-11-23", "main", "billing_q", "queue", 2, None, "billing"),
        (3, "2026-11-23", "main", "triage", "route", -1, None, "menu")]
    # the day is the contact center's: 03:00 UTC on the 24th is still the 23rd in New York
    late = call(rt, "B", [ROUTE_ELSE], minutes=12 * 60)
    assert rules_of(rt, late)[0][1] == "2026-11-23"
    assert rules_of(rt, call(rt, "C", [])) == []                      # no rules taken: no rows


def test_odd_steps_are_left_out_and_queue_conditions_kept_when_the_step_carries_them():
    assert rule_rows([{"event": "route", "node": "triage", "rule": True, "next": "x"},       # not an index
                      {"event": "queue_rules", "node": "q", "queue": "billing", "rules": "0"},
                      {"event": "route", "node": "triage", "rule": 1},                        # no target
                      "garbage", {"event": "enter", "node": "triage"}]) == []
    assert rule_rows([{**QUEUE_RULES, "when": ["a == 1", "b == 2"]}]) == [
        {"node": "billing_q", "kind": "queue", "rule": 0, "expression": "a == 1", "target": "billing"},
        {"node": "billing_q", "kind": "queue", "rule": 2, "expression": "b == 2", "target": "billing"}]


def test_a_record_written_again_by_a_late_webhook_replaces_its_rules_and_counts_once(rt):
    sid = call(rt, "A", [ROUTE_SENIOR, QUEUE_RULES], outcome="voicemail")
    before = rules_of(rt, sid)
    rt.records.sync(sid, {"voicemail_transcript": "call me back"})          # the transcription, later
    rt.records.sync(sid)
    assert rules_of(rt, sid) == before
    # the journey grew (a step the record did not have yet): the rows follow it, and shrink with it
    rt.calls.apply(sid, [ROUTE_ELSE], {}, T.timestamp())
    rt.records.sync(sid)
    grown = rules_of(rt, sid)
    assert [r[5] for r in grown] == [0, 0, 2, -1]
    rt.redis.delete(rt.keys.call(sid))                                       # Redis has let the call go
    rt.records.sync(sid, {"recording_url": "https://api.twilio.com/rec/RE1"})
    assert rules_of(rt, sid) == grown
    with rt.sessions() as db:
        record = upsert_call_record(db, {"call_sid": sid, "journey": [ROUTE_VIP]})
        assert write_call_rules(db, record, TZ) == 1
        db.commit()
    assert [(r[0], r[5]) for r in rules_of(rt, sid)] == [(0, 1)]
    assert [(r["rule"], r["calls"], r["voicemail"]) for r in rows(rt)] == [(1, 1, 1)]


def test_the_report_counts_the_calls_per_rule_with_their_outcomes(rt):
    answered = {"queue": "billing", "enqueued_at": T.timestamp() + 5, "answered_at": T.timestamp() + 20,
                "agent": "alice", "outcome": "answered"}
    call(rt, "A", [ROUTE_SENIOR, QUEUE_RULES], **answered)
    call(rt, "B", [ROUTE_SENIOR, QUEUE_RULES], queue="billing", enqueued_at=T.timestamp() + 5, outcome="abandoned")
    call(rt, "C", [ROUTE_SENIOR, ROUTE_SENIOR], outcome="voicemail")          # looped: one call all the same
    call(rt, "D", [ROUTE_ELSE], outcome="self_service")
    call(rt, "E", [ROUTE_VIP], outcome="ivr_hangup")
    call(rt, "F", [ROUTE_ELSE], minutes=24 * 60, outcome="self_service")       # the next day
    got = rows(rt)
    assert [(r["node"], r["kind"], r["rule"]) for r in got] == [
        ("billing_q", "queue", 0), ("billing_q", "queue", 2),
        ("triage", "route", 0), ("triage", "route", 1), ("triage", "route", "else")]      # the else last
    assert got[2] == {"flow": "main", "node": "triage", "kind": "route", "rule": 0, "expression": SENIOR,
                      "target": "senior_q", "calls": 3, "answered": 1, "abandoned": 1, "voicemail": 1,
                      "self_service": 0}
    assert got[0] == {"flow": "main", "node": "billing_q", "kind": "queue", "rule": 0, "expression": None,
                      "target": "billing", "calls": 2, "answered": 1, "abandoned": 1, "voicemail": 0,
                      "self_service": 0}
    assert (got[3]["calls"], got[3]["answered"], got[3]["self_service"]) == (1, 0, 0)
    assert (got[4]["expression"], got[4]["target"], got[4]["calls"], got[4]["self_service"]) == (None, "menu", 1, 1)
    assert rows(rt, DAY, DAY + timedelta(days=1))[4]["calls"] == 2                 # both days
    assert [r["rule"] for r in rows(rt, DAY + timedelta(days=1), DAY + timedelta(days=1))] == ["else"]
    assert rows(rt, DAY + timedelta(days=2), DAY + timedelta(days=2)) == []        # nothing fired: no rows
    assert [(r["rule"], r["calls"]) for r in rows(rt, agent="alice")] == [(0, 1), (2, 1), (0, 1)]
    assert [r["calls"] for r in rows(rt, queue="billing")] == [2, 2, 2]


def test_the_csv_has_the_rules_columns_and_one_line_per_rule(rt):
    call(rt, "A", [ROUTE_SENIOR], outcome="voicemail")
    call(rt, "B", [ROUTE_ELSE], outcome="self_service")
    lines = to_csv(rows(rt), "rule").splitlines()
    assert lines == ["flow,node,kind,rule,expression,target,calls,answered,abandoned,voicemail,self_service",
                     f"main,triage,route,0,{SENIOR},senior_q,1,0,0,1,0",
                     "main,triage,route,else,,menu,1,0,0,0,1"]


def test_by_rule_through_the_reports_api_as_json_and_csv_for_the_admin(app):
    rt = app.extensions["callrouter"]
    call(rt, "A", [ROUTE_SENIOR, QUEUE_RULES], queue="billing", enqueued_at=T.timestamp() + 5,
         answered_at=T.timestamp() + 9, agent="alice", outcome="answered")
    client = app.test_client()
    query = "/api/reports?by=rule&from=2026-11-23&to=2026-11-23"
    assert client.get(query).status_code == 401
    got = client.get(query, headers=ADMIN)
    assert got.status_code == 200, got.get_json()
    body = got.get_json()
    assert (body["by"], body["from"], body["timezone"]) == ("rule", "2026-11-23", TZ)
    assert [(r["node"], r["rule"], r["calls"], r["answered"]) for r in body["rows"]] == [
        ("billing_q", 0, 1, 1), ("billing_q", 2, 1, 1), ("triage", 0, 1, 1)]
    answer = client.get(query + "&format=csv", headers=ADMIN)
    assert answer.mimetype == "text/csv" and "callrouter-rule-2026-11-23" in answer.headers["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert [(r["node"], r["rule"], r["target"], r["answered"]) for r in table] == [
        ("billing_q", "0", "billing", "1"), ("billing_q", "2", "billing", "1"), ("triage", "0", "senior_q", "1")]
    assert client.get("/api/reports?by=rule&from=2026-11-23&to=2026-11-23&queue=tech",
                      headers=ADMIN).get_json()["rows"] == []


def test_the_reports_page_offers_by_rule_as_it_offers_by_agent(app):
    make_user(app, "sam", "supervisor")
    client = app.test_client()
    assert page_login(client, "/supervisor", "sam").status_code == 303
    html = client.get("/reports").get_data(as_text=True)
    assert '<option value="agent" >agent</option>' in html and '<option value="rule" >rule</option>' in html
    html = client.get("/reports?by=rule&from=2026-11-20&to=2026-11-23").get_data(as_text=True)
    assert '<option value="rule" selected>rule</option>' in html
    href = re.search(r'id="csv"[^>]*href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "by=rule" in href and "from=2026-11-20" in href and "format=csv" in href
    assert client.get(href).get_data(as_text=True).startswith("flow,node,kind,rule,expression,target,calls")
