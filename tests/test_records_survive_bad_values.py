"""A value Twilio (or a bug) puts in a call that its record's column cannot hold is clamped or left
out, and logged: the record job never fails on it, so the call's record is never lost."""
from __future__ import annotations

from store.records import get_call_record


def test_a_thirty_digit_call_duration_is_clamped_and_the_record_written(seeded, twilio, run_jobs):
    rt = seeded.extensions["callrouter"]
    call = twilio.call().dial()
    call.hangup(duration="9" * 30)
    run_jobs()
    assert rt.jobs.failed_job_registry.get_job_ids() == []
    with rt.sessions() as session:
        record = get_call_record(session, call.sid)
        assert record.duration_s == 7 * 86400 and record.outcome == "ivr_hangup"


def test_garbage_times_and_ratings_are_left_out_of_the_record(seeded, twilio, run_jobs):
    rt = seeded.extensions["callrouter"]
    call = twilio.call().dial()
    call.hangup(duration="12")
    rt.redis.hset(rt.keys.call(call.sid), mapping={"answered_at": "1e300", "csat": "99", "contact_id": "9" * 20,
                                                   "talk_s": "nan", "wrap_s": "-5"})
    run_jobs()
    assert rt.jobs.failed_job_registry.get_job_ids() == []
    with rt.sessions() as session:
        record = get_call_record(session, call.sid)
        assert record.duration_s == 12 and record.answered_at is None and record.csat is None
        assert record.contact_id is None and record.talk_s is None and record.wrap_s == 0
