"""Writing a finished call's journey to its SQL call record (an RQ job).

The web process only enqueues; the worker reads the call from Redis and
upserts the record, so no webhook waits on SQL. Upserts merge, so the job
may run again for late callbacks (a transcription) and changes nothing twice.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from store import runtime
from store.intervals import intervals_for_call, refresh
from store.records import upsert_call_record

log = logging.getLogger(__name__)

INPUT_EVENTS = ("digits", "speech")    # journey steps that are something the caller did
REFRESH_LEASE_S = 120                  # a refresh job that died frees the way after this


def record_fields(workspace: str, call_sid: str, state: dict[str, str], journey: list[dict]) -> dict:
    """The call record columns for a call, from its Redis state and journey."""
    def number(name, cast=float):
        value = state.get(name)
        try:
            return cast(value) if value not in (None, "") else None
        except ValueError:
            return None

    path = [s["node"] for s in journey if s.get("event") == "enter"]
    inputs = [{"node": s["node"], "kind": s["event"], "value": s.get("value"), "option": s.get("option"),
               "at": s.get("at")} for s in journey if s.get("event") in INPUT_EVENTS]
    return {
        "call_sid": call_sid,
        "workspace": workspace,
        "from_number": (state.get("from") or "")[:64] or None,
        "to_number": (state.get("to") or "")[:64] or None,
        "flow": state.get("flow"),
        "ivr_path": path,
        "ivr_inputs": inputs,
        "journey": journey,
        "queue": state.get("queue") or None,
        "arrived_at": number("arrived_at"),
        "enqueued_at": number("enqueued_at"),
        "offered_at": number("offered_at"),
        "answered_at": number("answered_at"),
        "agent_id": state.get("agent") or None,
        "ended_at": number("ended_at"),
        "duration_s": number("duration_s", int),
        "outcome": state.get("outcome") or None,
        "contact_id": number("contact_id", int),
        "recording_url": (state.get("recording_url") or "")[:512] or None,
        "recording_duration_s": number("recording_duration_s", int),
        "voicemail_transcript": state.get("voicemail_transcript") or None,
        "csat": number("csat", int),
        "talk_s": number("talk_s"),
        "wrap_s": number("wrap_s"),
    }


def sync_call_record(call_sid: str, extra: dict | None = None) -> str:
    """RQ job: upsert the call record of `call_sid` from Redis (plus `extra` columns)."""
    rt = runtime.current()
    state = rt.calls.load(call_sid)
    data = {"call_sid": call_sid, "workspace": rt.cc.workspace}
    if state is not None:
        data = record_fields(rt.cc.workspace, call_sid, state, rt.calls.journey(call_sid))
    elif not extra:
        log.warning("call %s is gone from Redis; nothing to record", call_sid)
        return "gone"
    data.update(extra or {})
    with rt.sessions() as session:
        upsert_call_record(session, data)
        session.commit()
        # the report intervals follow the records (reports never read Redis): marked here, rewritten
        # by one job for many calls, so a busy interval is not recomputed once per call
        starts = intervals_for_call(session, rt.cc.workspace, call_sid)
    if starts:
        rt.redis.sadd(rt.keys.reports_dirty(), *[int(s.timestamp()) for s in starts])
        if rt.redis.set(rt.keys.reports_scheduled(), 1, nx=True, ex=REFRESH_LEASE_S):
            rt.jobs.enqueue("ivr.records.refresh_report_intervals", job_timeout=600, result_ttl=600)
    return data.get("outcome") or "updated"


def refresh_report_intervals() -> int:
    """RQ job: rewrite every dirty report interval once; the number rewritten. New marks that
    arrive meanwhile are taken in the same run; one that slips in after the last look finds the
    lease gone and queues the next run itself."""
    rt = runtime.current()
    levels = {name: q.service_level_s for name, q in rt.cc.queues.items()}
    done = 0
    while True:
        rt.redis.expire(rt.keys.reports_scheduled(), REFRESH_LEASE_S)
        batch = rt.redis.spop(rt.keys.reports_dirty(), 50)
        if not batch:
            rt.redis.delete(rt.keys.reports_scheduled())
            if rt.redis.scard(rt.keys.reports_dirty()) and \
                    rt.redis.set(rt.keys.reports_scheduled(), 1, nx=True, ex=REFRESH_LEASE_S):
                continue
            return done
        with rt.sessions() as session:
            for start in sorted({int(x) for x in batch}):
                refresh(session, rt.cc.workspace, datetime.fromtimestamp(start, timezone.utc), levels)
                done += 1
            session.commit()
