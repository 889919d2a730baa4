"""`GET /api/calls` (admin): past calls newest first, narrowed by day, queue, agent and outcome,
paged with a cursor that neither repeats nor skips a call written between two pages."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from store.records import upsert_call_record

ADMIN = {"Authorization": "Bearer test-admin-token"}
T = datetime(2026, 11, 23, 14, 0, tzinfo=timezone.utc)      # the clock fixture's day, in New York too


@pytest.fixture
def client(app):
    return app.test_client()


def write(app, sid: str, minutes: float, **fields) -> str:
    call_sid = "CA" + sid.ljust(32, "0")
    with app.extensions["callrouter"].sessions() as db:
        upsert_call_record(db, {"call_sid": call_sid, "workspace": "acme", "arrived_at": T + timedelta(minutes=minutes),
                                **fields})
        db.commit()
    return call_sid


def test_past_calls_come_newest_first_with_what_happened(app, client):
    first = write(app, "A", 0, from_number="+14155550100", queue="billing", outcome="answered", agent_id="alice",
                  talk_s=90.0, disposition="resolved", notes="refund sent")
    second = write(app, "B", 5, from_number="+14155550101", queue="billing", outcome="abandoned")
    answer = client.get("/api/calls", headers=ADMIN)
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["from"] == body["to"] == "2026-11-23" and body["next"] is None
    assert [c["call_sid"] for c in body["calls"]] == [second, first]
    assert body["calls"][1] | {"arrived_at": None} == body["calls"][1] | {
        "call_sid": first, "from": "+14155550100", "queue": "billing", "outcome": "answered", "agent_id": "alice",
        "talk_s": 90.0, "disposition": "resolved", "notes": "refund sent", "arrived_at": None}


def test_filters_narrow_the_list(app, client):
    write(app, "A", 0, queue="billing", outcome="answered", agent_id="alice")
    write(app, "B", 1, queue="support", outcome="answered", agent_id="bob")
    abandoned = write(app, "C", 2, queue="billing", outcome="abandoned")
    write(app, "D", -60 * 24, queue="billing", outcome="abandoned")        # the day before
    ids = lambda **q: [c["call_sid"][:3] for c in client.get("/api/calls", query_string=q, headers=ADMIN).get_json()["calls"]]  # noqa: E731
    assert ids(queue="billing") == ["CAC", "CAA"]
    assert ids(agent="bob") == ["CAB"]
    assert ids(outcome="abandoned") == [abandoned[:3]]
    assert ids(**{"from": "2026-11-22", "to": "2026-11-23", "outcome": "abandoned"}) == ["CAC", "CAD"]


def test_pages_follow_one_another_without_repeats_or_gaps(app, client):
    written = [write(app, f"P{i:02d}", i) for i in range(7)]
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/calls", query_string=query, headers=ADMIN).get_json()
        seen += [c["call_sid"] for c in body["calls"]]
        pages += 1
        if pages == 1:
            write(app, "NEW", 30)        # arrives while the list is read: the first page has passed it
        cursor = body["next"]
        if cursor is None:
            break
    assert seen == written[::-1] and pages == 3


@pytest.mark.parametrize("query", [{"from": "9999-12-31"}, {"to": "0001-01-01"}, {"from": "yesterday"},
                                   {"limit": "0"}, {"limit": "²"}, {"limit": "5000"}, {"outcome": "lost"},
                                   {"cursor": "not-a-cursor"}, {"from": "2026-11-23", "to": "2026-11-01"}])
def test_bad_queries_are_told_what_is_wrong(client, query):
    answer = client.get("/api/calls", query_string=query, headers=ADMIN)
    assert answer.status_code == 400 and answer.get_json()["error"]


def test_only_an_admin_reads_the_history(client):
    assert client.get("/api/calls").status_code == 401
    assert client.get("/api/calls", headers={"Authorization": "Bearer nope"}).status_code == 401
