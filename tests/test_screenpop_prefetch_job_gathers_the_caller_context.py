"""Screen pop: the prefetch job in the in-process app, on a real Redis. It gathers the contact,
history, CSAT and repeat-caller mark, runs once per call, survives a script flush, and leaves a
pop that says so when the outside CRM times out or keeps failing (then it is paused)."""
from __future__ import annotations

import json
from datetime import timedelta

from screenpop.prefetch import PAUSE_AFTER_FAILURES
from store.records import upsert_call_record
from tests import test_screenpop_fixtures as shared
from tests.conftest import AUTH_TOKEN
from tests.test_screenpop_fixtures import CONTACT, DANA, NOW, _context
from tests.twilio import TwilioTester

# The shared fixtures, found by pytest under these names in this module.
fake_crm, tw = shared.fake_crm, shared.tw


def _past_calls(app, number: str, *rows):
    with app.extensions["callrouter"].sessions() as session:
        for i, (hours_ago, fields) in enumerate(rows):
            upsert_call_record(session, {"call_sid": f"CAold{i}{number[-4:]}", "from_number": number,
                                         "arrived_at": NOW - timedelta(hours=hours_ago), **fields})
        session.commit()


def test_prefetch_gathers_contact_history_csat_and_repeat(staffed, tw, run_jobs):
    _past_calls(staffed, DANA,
                (80, {"agent_id": "bob", "queue": "tech", "disposition": "escalated", "notes": "old", "csat": 5}),
                (30, {"agent_id": "alice", "queue": "billing", "disposition": "resolved",
                      "notes": "Refunded <b>invoice 41</b>", "csat": 4}),
                (2, {"outcome": "ivr_hangup", "csat": None}))
    _past_calls(staffed, "+12125550123", (1, {"agent_id": "bob", "csat": 1}))      # someone else
    call = tw.call(from_=DANA).dial().say("refund")
    assert _context(staffed, call.sid).get_json()["missing"] == ["crm", "history"]
    run_jobs()
    got = _context(staffed, call.sid).get_json()
    assert got["missing"] == [] and got["notice"] is None and got["repeat_caller"] is True
    assert got["contact"] == {"name": "Dana Reyes", "company": "Globex", "account_value": 125000.0, "tier": "vip",
                              "notes": "Renewal due in March", "csat_avg": 4.5, "tags": [],
                              "fields": {"plan": "enterprise", "open_tickets": 2.0}}      # the CRM's own fields
    assert [(h["agent"], h["disposition"], h["notes"]) for h in got["history"]] == [
        (None, None, None), ("alice", "resolved", "Refunded <b>invoice 41</b>"), ("bob", "escalated", "old")]
    assert [h["agent_name"] for h in got["history"]] == [None, "Alice Smith", "Bob Jones"]    # the agents' names
    assert got["history"][1]["at"] == "2026-11-22T09:00:00+00:00" and got["history"][1]["queue"] == "billing"
    assert got["journey"] == ['Said "refund"', "Queued for billing"]


def test_one_prefetch_per_call_and_a_repeat_is_a_no_op(staffed, tw, run_jobs, redis_client):
    rt = staffed.extensions["callrouter"]
    call = tw.call(from_="+12125550123").dial()
    call.dial()                                           # Twilio retries the first webhook
    others = [tw.call(from_=f"+1212555{i:04d}").dial() for i in range(40)]
    assert rt.jobs.count == 1                             # one job for everyone who came in meanwhile
    assert rt.jobs.jobs[0].func_name == "service.jobs.prefetch_pending"
    run_jobs()
    assert redis_client.llen(rt.keys.prefetch_pending()) == 0
    assert all(_context(staffed, c.sid).get_json()["missing"] == [] for c in others)
    later = tw.call(from_=DANA).dial()                    # the job is done: the next call queues another
    assert rt.jobs.count == 1
    run_jobs()
    assert _context(staffed, later.sid).get_json()["contact"]["name"] == "Dana Reyes"
    stored = json.loads(redis_client.get(rt.keys.screenpop(call.sid)))
    assert stored["state"] == "done" and stored["contact"] is None and stored["repeat_caller"] is False
    assert 0 < redis_client.ttl(rt.keys.screenpop(call.sid)) <= 6 * 3600
    assert rt.prefetching.one(call.sid) == "already"
    assert not rt.jobs.failed_job_registry.get_job_ids()


def test_the_prefetch_job_survives_a_script_flush(staffed, tw, run_jobs, redis_client):
    redis_client.script_flush()
    call = tw.call(from_=DANA).dial()
    assert call.says[0].startswith("Hello Dana")
    run_jobs()
    assert _context(staffed, call.sid).get_json()["missing"] == []


def test_a_timed_out_crm_leaves_a_pop_that_says_so(make_app, fake_crm, clock):
    from store.seed import seed
    fake_crm.answers[DANA] = (200, CONTACT, 1.0)
    app = make_app({"CRM_URL": fake_crm.url, "CRM_TIMEOUT_S": "0.2"})
    rt = app.extensions["callrouter"]
    with rt.sessions() as session:
        seed(session, list(rt.cc.agents), list(rt.cc.contacts), default_timezone=rt.cc.timezone)
    call = TwilioTester(app.test_client(), AUTH_TOKEN).call(from_=DANA).dial()
    assert rt.prefetching.one(call.sid) == "crm failed"
    got = _context(app, call.sid).get_json()
    assert got["missing"] == ["crm"] and got["notice"] == "CRM unavailable: timed out after 0.2 s"
    assert got["contact"]["name"] == "Dana Reyes" and got["contact"]["account_value"] is None


def test_an_outside_crm_contact_and_a_failing_crm_is_paused(make_app, fake_crm, redis_client):
    fake_crm.answers[DANA] = (200, CONTACT, 0)
    app = make_app({"CRM_URL": fake_crm.url})
    prefetch = app.extensions["callrouter"].prefetching.one
    tw = TwilioTester(app.test_client(), AUTH_TOKEN)
    call = tw.call(from_=DANA).dial()
    assert prefetch(call.sid) == "done"
    assert _context(app, call.sid).get_json()["contact"]["notes"] == CONTACT["notes"]
    fake_crm.answers[DANA] = (200, b"<html>", 0)
    for _ in range(PAUSE_AFTER_FAILURES):
        assert prefetch(tw.call(from_=DANA).dial().sid) == "crm failed"
    asked = len(fake_crm.requests)
    paused = tw.call(from_=DANA).dial()
    assert prefetch(paused.sid) == "crm failed" and len(fake_crm.requests) == asked
    assert _context(app, paused.sid).get_json()["notice"] == "CRM unavailable: paused after 5 failed lookups in a row"
