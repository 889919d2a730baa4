"""The call search behind /calls: past calls by number or contact name (`q`) beside the other filters,
one call whole with its timeline in words (GET /api/calls/<sid>), and its recording fetched by the
service from the Twilio API it is configured with, and from nowhere else."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from store.records import upsert_call_record
from tests.conftest import seed_demo

ADMIN = {"Authorization": "Bearer test-admin-token"}
AT = datetime(2026, 11, 23, 14, 0, tzinfo=timezone.utc)        # the tests' clock is 2026-11-23 15:00 UTC


def record(app, sid: str, **fields):
    with app.extensions["callrouter"].sessions() as db:
        upsert_call_record(db, {"call_sid": sid, "workspace": "acme", "arrived_at": AT, "from_number": "+12125550199",
                                **fields})
        db.commit()


@pytest.fixture
def calls(app):
    rt = app.extensions["callrouter"]
    seed_demo(rt)
    with rt.sessions() as db:
        from sqlalchemy import select

        from store.models import Contact
        dana = db.scalars(select(Contact.id).where(Contact.name == "Dana Reyes")).one()
    t = AT.timestamp()
    record(app, "CA" + "1" * 32, from_number="+14155550100", contact_id=dana, queue="billing", outcome="answered",
           agent_id="alice", enqueued_at=AT + timedelta(seconds=20), offered_at=AT + timedelta(seconds=25),
           answered_at=AT + timedelta(seconds=30), ended_at=AT + timedelta(seconds=200), duration_s=200, csat=4,
           disposition="resolved", notes="Refund <b>issued</b>",
           journey=[{"event": "digits", "value": "1", "next": "billing_q", "label": "billing", "at": t + 10},
                    {"event": "enqueued", "queue": "billing", "at": t + 20}],
           segments=[{"kind": "hold", "agent": "alice", "from": t + 60, "to": t + 90, "hold_s": 30.0, "at": t + 90},
                     {"kind": "talk", "agent": "alice", "queue": "billing", "from": t + 30, "to": t + 200,
                      "talk_s": 170.0, "at": t + 200},
                     {"kind": "wrapup", "agent": "alice", "disposition": "resolved", "notes": "Refund <b>issued</b>",
                      "at": t + 230}])
    record(app, "CA" + "2" * 32, outcome="voicemail", recording_url="http://127.0.0.1:9/2010-04-01/Accounts/AC1/"
           "Recordings/RE" + "3" * 32, recording_duration_s=9, voicemail_transcript="Call me back")
    record(app, "CA" + "4" * 32, outcome="voicemail", recording_url="https://evil.example/secret")
    return app.test_client()


def test_calls_are_found_by_number_or_contact_name(calls):
    found = lambda q: [c["call_sid"][2:4] for c in calls.get(f"/api/calls?q={q}", headers=ADMIN).get_json()["calls"]]  # noqa: E731
    assert found("reyes") == ["11"]
    assert found("415-555-0100") == ["11"]
    assert sorted(found("0199")) == ["22", "44"]
    assert calls.get("/api/calls?q=reyes", headers=ADMIN).get_json()["calls"][0]["contact"] == "Dana Reyes"


def test_one_call_has_its_timeline_in_words(calls):
    answer = calls.get("/api/calls/CA" + "1" * 32, headers=ADMIN)
    assert answer.status_code == 200
    call = answer.get_json()
    assert call["contact"] == "Dana Reyes" and call["agent_names"] == {"alice": "Alice Smith"}
    assert call["recording"] is False
    assert [t["text"] for t in call["timeline"]] == [
        "Called from +14155550100", "Pressed 1 (billing)", "Queued for billing", "Offered to an agent",
        "Answered by Alice Smith", "On hold (0:30)", "Alice Smith talked with the caller (2:50)",
        "Call ended: answered", "The caller rated the call 4 / 5",
        "Alice Smith wrapped up: resolved — Refund <b>issued</b>"]
    assert call["timeline"][0]["at"] == "2026-11-23T14:00:00+00:00"
    assert calls.get("/api/calls/CA" + "9" * 32, headers=ADMIN).status_code == 404


def test_a_recording_is_fetched_only_from_the_services_twilio(calls):
    voicemail = calls.get("/api/calls/CA" + "2" * 32, headers=ADMIN).get_json()
    assert voicemail["recording"] is True and 'Voicemail: "Call me back"' in [t["text"] for t in voicemail["timeline"]]
    assert "recording_url" not in voicemail                               # no Twilio URL for the page
    # the service's TWILIO_API_URL (127.0.0.1:9) does not answer: 502; another host is never asked: 404
    assert calls.get("/api/calls/CA" + "2" * 32 + "/recording", headers=ADMIN).status_code == 502
    assert calls.get("/api/calls/CA" + "4" * 32 + "/recording", headers=ADMIN).status_code == 404
    assert calls.get("/api/calls/CA" + "1" * 32 + "/recording", headers=ADMIN).status_code == 404


def test_agents_may_not_search_calls(calls, app):
    token = calls.post("/api/agents/alice/credentials", headers=ADMIN).get_json()["token"]
    alice = {"Authorization": f"Bearer {token}"}
    for path in ("/api/calls", "/api/calls/CA" + "1" * 32, "/api/calls/CA" + "2" * 32 + "/recording"):
        assert calls.get(path, headers=alice).status_code == 403, path
