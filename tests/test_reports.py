"""Report intervals and reports from hand-computed call sequences: service level with short
abandons, ASA, AHT, first-contact resolution, CSAT, self-service; the CSV; the job that keeps the
intervals in step with the records."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from store.intervals import refresh, refresh_for_call
from store.models import CallRecord, IntervalStat
from store.records import upsert_call_record
from store.reports import report, to_csv

T = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)          # 10:00 in New York
SL = {"billing": 20}
TZ = "America/New_York"


def at(minutes: float, seconds: float = 0) -> datetime:
    return T + timedelta(minutes=minutes, seconds=seconds)


def rec(session, sid, arrived, **fields):
    upsert_call_record(session, {"call_sid": "CA" + sid.ljust(32, "0"), "workspace": "acme", "arrived_at": arrived,
                                 **fields})


@pytest.fixture
def db(app):
    with app.extensions["callrouter"].sessions() as session:
        yield session


@pytest.fixture
def morning(db):
    """Seven calls: two answered (one within 20 s), a short and a long abandon, an overflow to
    voicemail, a self-service call, and B calling again at 10:30 (so B was not resolved)."""
    q = {"queue": "billing"}
    rec(db, "A", at(0), from_number="+1111", enqueued_at=at(0, 10), answered_at=at(0, 25), ended_at=at(2, 5),
        outcome="answered", agent_id="alice", talk_s=100, wrap_s=20, csat=5, **q)
    rec(db, "B", at(1), from_number="+2222", enqueued_at=at(1, 5), answered_at=at(1, 45), ended_at=at(5, 5),
        outcome="answered", agent_id="bob", talk_s=200, wrap_s=40, csat=3, hold_s=30, transfers=1, **q)
    rec(db, "C", at(2), from_number="+3333", enqueued_at=at(2), ended_at=at(2, 3), outcome="abandoned", **q)
    rec(db, "D", at(3), from_number="+4444", enqueued_at=at(3), ended_at=at(3, 30), outcome="abandoned", **q)
    rec(db, "E", at(4), from_number="+5555", ended_at=at(5), outcome="self_service")
    rec(db, "F", at(5), from_number="+6666", enqueued_at=at(5), ended_at=at(16), outcome="voicemail",
        journey=[{"event": "queue_result", "node": "billing_q", "result": "overflow"}], **q)
    rec(db, "B2", at(30), from_number="+2222", ended_at=at(31), outcome="self_service")
    db.commit()
    refresh(db, "acme", T, SL)
    refresh(db, "acme", at(30), SL)
    db.commit()
    return db


def test_an_interval_by_hand(morning):
    (billing,) = report(morning, "acme", TZ, date(2026, 11, 23), date(2026, 11, 23), by="queue")
    assert billing == {
        "queue": "billing", "calls": 5, "offered": 5, "answered": 2, "abandoned": 2, "short_abandoned": 1,
        "overflowed": 1, "callbacks": 0,
        "service_level": round(1 / (2 + 2 - 1), 3),   # A within 20 s; C's 3 s abandon is short: excluded
        "asa_s": 27.5,                                 # (15 + 40) / 2
        "aht_s": 180.0,                                # (100 + 20 + 200 + 40) / 2
        "fcr": 0.5,                                    # B called again within 24 h
        "transferred": 1, "hold_s": 30.0,              # B was held 30 s and transferred: one call, once
        "csat_avg": 4.0, "csat_n": 2, "self_service": 0, "self_service_rate": 0.0}


def test_by_interval_day_and_agent(morning):
    by_interval = report(morning, "acme", TZ, date(2026, 11, 23), date(2026, 11, 23), by="interval")
    assert [(r["interval"], r["calls"], r["self_service"]) for r in by_interval] == [
        ("2026-11-23T10:00-05:00", 6, 1), ("2026-11-23T10:30-05:00", 1, 1)]
    (day,) = report(morning, "acme", TZ, date(2026, 11, 23), date(2026, 11, 23), by="day")
    assert day["day"] == "2026-11-23" and day["calls"] == 7 and day["self_service_rate"] == round(2 / 7, 3)
    agents = {r["agent"]: r for r in report(morning, "acme", TZ, date(2026, 11, 23), date(2026, 11, 23), by="agent")}
    assert (agents["alice"]["answered"], agents["alice"]["aht_s"], agents["alice"]["fcr"]) == (1, 120.0, 1.0)
    assert (agents["bob"]["asa_s"], agents["bob"]["fcr"], agents["bob"]["csat_avg"]) == (40.0, 0.0, 3.0)
    assert report(morning, "acme", TZ, date(2026, 11, 24), date(2026, 11, 24), by="day") == []
    with pytest.raises(ValueError):
        report(morning, "acme", TZ, date(2026, 11, 23), date(2026, 11, 22))


def test_the_csv_has_a_header_and_one_line_per_group(morning):
    rows = report(morning, "acme", TZ, date(2026, 11, 23), date(2026, 11, 23), by="agent")
    lines = to_csv(rows, "agent").splitlines()
    assert lines[0].startswith("agent,calls,offered,answered,abandoned")
    assert lines[1].startswith("alice,1,1,1,0") and len(lines) == 3


def test_a_repeat_call_refreshes_the_earlier_interval_and_refreshing_twice_changes_nothing(db):
    rec(db, "A", at(0), from_number="+1111", enqueued_at=at(0), answered_at=at(0, 10), outcome="answered",
        agent_id="alice", talk_s=60, queue="billing")
    db.commit()
    refresh_for_call(db, "acme", "CA" + "A".ljust(32, "0"), SL)
    first = report(db, "acme", TZ, date(2026, 11, 23), date(2026, 11, 23), by="queue")[0]
    assert first["fcr"] == 1.0
    rec(db, "A2", at(600), from_number="+1111", outcome="self_service")          # ten hours later
    db.commit()
    refresh_for_call(db, "acme", "CA" + "A2".ljust(32, "0"), SL)
    refresh_for_call(db, "acme", "CA" + "A2".ljust(32, "0"), SL)
    db.commit()
    assert report(db, "acme", TZ, date(2026, 11, 23), date(2026, 11, 23), by="queue")[0]["fcr"] == 0.0
    assert len(db.scalars(select(IntervalStat)).all()) == 3     # billing, alice, and the IVR row at 20:00 UTC


def test_the_record_job_keeps_the_intervals(twilio, app, staffed, run_jobs):
    call = twilio.call().dial()
    call.hangup()
    run_jobs()
    with app.extensions["callrouter"].sessions() as session:
        rows = session.scalars(select(IntervalStat)).all()
        assert [(r.queue, r.agent, r.calls) for r in rows] == [("", "", 1)]
        assert session.get(CallRecord, call.sid) is not None


def test_the_reports_api_answers_json_and_csv_to_the_admin(app, morning):
    client = app.test_client()
    admin = {"Authorization": "Bearer test-admin-token"}
    assert client.get("/api/reports").status_code == 401
    got = client.get("/api/reports?by=queue&from=2026-11-23&to=2026-11-23", headers=admin)
    assert got.status_code == 200 and got.get_json()["rows"][0]["service_level"] == 0.333
    assert got.get_json()["timezone"] == TZ
    csv_answer = client.get("/api/reports?by=agent&from=2026-11-23&to=2026-11-23&format=csv", headers=admin)
    assert csv_answer.mimetype == "text/csv" and csv_answer.get_data(as_text=True).startswith("agent,calls")
    assert "attachment" in csv_answer.headers["Content-Disposition"]
    for bad in ("by=week", "from=yesterday", "from=2026-11-23&to=2026-11-01"):
        answer = client.get(f"/api/reports?{bad}", headers=admin)
        assert answer.status_code == 400 and answer.get_json()["error"]
