"""Records are never lost: an ended call waits in Redis's outbox until SQL has its record. With SQL
away the record job fails; the worker's sweeper writes it later, with backoff, the wrap-up's notes
included (they are kept on the call, not only in the job's arguments)."""
from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

import ivr.records
from store.records import get_call_record


@pytest.fixture
def sql_away(monkeypatch):
    """SQL refuses every record write until `back()` is called."""
    real = ivr.records.upsert_call_record
    state = {"away": True}

    def upsert(session, data):
        if state["away"]:
            raise OperationalError("INSERT", {}, Exception("connection refused"))
        return real(session, data)

    monkeypatch.setattr(ivr.records, "upsert_call_record", upsert)
    return lambda: state.update(away=False)


def pending(rt) -> dict[str, float]:
    return {k.decode(): v for k, v in rt.redis.zrange(rt.keys.records_pending(), 0, -1, withscores=True)}


def test_the_record_job_empties_the_outbox(seeded, twilio, run_jobs, clock):
    rt = seeded.extensions["callrouter"]
    call = twilio.call().dial()
    call.hangup()
    assert pending(rt) == {call.sid: clock.now.timestamp() + 60}      # in the same step that ended it
    run_jobs()
    assert pending(rt) == {}


def test_a_call_that_ended_while_sql_was_away_gets_its_record_with_its_notes(seeded, twilio, run_jobs, clock,
                                                                             sql_away):
    rt = seeded.extensions["callrouter"]
    call = twilio.call().dial()
    call.hangup()
    rt.calls.apply(call.sid, [{"event": "wrapup", "agent": "alice"}], {"disposition": "resolved",
                                                                      "notes": "refund sent"}, clock.now.timestamp())
    run_jobs()
    assert rt.jobs.failed_job_registry.count == 1 and call.sid in pending(rt)     # the job failed: not lost
    later = clock.now.timestamp() + 61
    assert rt.records.flush_due(later) == (0, 1)                      # still away: tried again later
    assert pending(rt)[call.sid] == later + 15
    assert rt.records.flush_due(later + 15) == (0, 1)
    assert pending(rt)[call.sid] == later + 15 + 30                   # twice as late
    sql_away()                                                        # SQL is back
    assert rt.records.flush_due(later + 45) == (1, 0)
    assert pending(rt) == {} and rt.redis.hget(rt.keys.records_tries(), call.sid) is None
    with rt.sessions() as session:
        record = get_call_record(session, call.sid)
        assert record.outcome == "ivr_hangup" and record.notes == "refund sent" and record.disposition == "resolved"


def test_the_sweeper_leaves_calls_whose_time_has_not_come(seeded, twilio, clock, sql_away):
    rt = seeded.extensions["callrouter"]
    twilio.call().dial().hangup()
    assert rt.records.flush_due(clock.now.timestamp() + 30) == (0, 0)   # the record job's turn first
