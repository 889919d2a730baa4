"""Records are never lost: an ended call waits in Redis's outbox until SQL has its record. With SQL
away the record job fails; the worker's sweeper writes it later, with backoff, the wrap-up's notes
included (they are kept on the call, not only in the job's arguments)."""
from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

import ivr.records
from ivr.calls import Params
from store.records import get_call_record


class Sql:
    """Turns the call records' SQL writes away and back."""

    def __init__(self):
        self.away = False

    def down(self):
        self.away = True

    def up(self):
        self.away = False


@pytest.fixture
def sql(monkeypatch):
    switch = Sql()
    real = ivr.records.upsert_call_record

    def upsert(session, data):
        if switch.away:
            raise OperationalError("INSERT", {}, Exception("connection refused"))
        return real(session, data)

    monkeypatch.setattr(ivr.records, "upsert_call_record", upsert)
    return switch


def pending(rt) -> dict[str, float]:
    return {k.decode(): v for k, v in rt.redis.zrange(rt.keys.records_pending(), 0, -1, withscores=True)}


def test_the_record_job_empties_the_outbox(seeded, twilio, run_jobs, clock):
    rt = seeded.extensions["callrouter"]
    call = twilio.call().dial()
    call.hangup()
    assert pending(rt) == {call.sid: clock.now.timestamp() + 60}      # in the same step that ended it
    run_jobs()
    assert pending(rt) == {}


def test_a_call_that_ended_while_sql_was_away_gets_its_record_with_its_notes(seeded, twilio, run_jobs, clock, sql):
    rt = seeded.extensions["callrouter"]
    sql.down()
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
    sql.up()
    assert rt.records.flush_due(later + 45) == (1, 0)
    assert pending(rt) == {} and rt.redis.hget(rt.keys.records_tries(), call.sid) is None
    with rt.sessions() as session:
        record = get_call_record(session, call.sid)
        assert record.outcome == "ivr_hangup" and record.notes == "refund sent" and record.disposition == "resolved"


def test_the_sweeper_leaves_calls_whose_time_has_not_come(seeded, twilio, clock, sql):
    rt = seeded.extensions["callrouter"]
    sql.down()
    twilio.call().dial().hangup()
    assert rt.records.flush_due(clock.now.timestamp() + 30) == (0, 0)   # the record job's turn first


def test_wrap_up_notes_reach_sql_when_the_job_after_the_wrap_up_fails(services, sql):
    p = Params(call_sid="CA" + "5" * 32, from_number="+12125550123", to_number="+15005550006")
    services.ivr.incoming(p)
    services.ivr.gather(Params(p.call_sid, p.from_number, p.to_number, digits="1"), "menu", 0)
    services.acd.change_status("alice", "available", services.clock())
    services.router.answer(services.agents.get("alice")["offer"], "accept", services.clock(), "alice")
    services.connections.agent_dialed(p, "completed", "30")
    services.ivr.status(p.call_sid, "completed", "95")
    assert services.records.flush_due(services.clock().timestamp() + 61) == (1, 0)   # recorded, no notes yet
    sql.down()
    services.wrapups.wrap_up(p.call_sid, lambda agent: agent == "alice", "resolved", "refund sent", services.clock())
    assert p.call_sid in pending(services)                            # its job may fail: the sweeper has it
    sql.up()
    assert services.records.flush_due(services.clock().timestamp() + 61) == (1, 0)
    with services.sessions() as session:
        record = get_call_record(session, p.call_sid)
        assert record.notes == "refund sent" and record.outcome == "answered" and record.talk_s == 30
