"""Report intervals: the figures of each 15-minute interval, per queue and agent, written to SQL
from the call records as calls end (the worker calls `refresh_for_call` after writing a record).

An interval holds the calls that *arrived* in it. Each refresh rewrites the interval's rows whole
from its records, so running it twice, or after a late update (wrap-up notes, a survey answer, a
transcription), changes nothing that was right. A caller's repeat call changes the first-contact
resolution of their calls of the 24 hours before, so those intervals are refreshed too.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .models import CallRecord, IntervalStat

INTERVAL = timedelta(minutes=15)
REPEAT_WINDOW = timedelta(hours=24)       # an answered caller who calls again within it was not resolved
SHORT_ABANDON_S = 5.0                     # abandons under this are short (excluded from service level)
OVERFLOW_RESULTS = ("overflow", "nobody")
COUNTERS = ("calls", "self_service", "offered", "answered", "answered_sl", "abandoned", "short_abandoned",
            "overflowed", "callbacks", "answer_wait_s", "talk_s", "wrap_s", "repeat_24h", "csat_sum", "csat_n",
            "transferred", "hold_s")


def interval_start(at: datetime) -> datetime:
    """The UTC start of `at`'s 15-minute interval (every zone's offset is a whole quarter hour)."""
    at = at.astimezone(timezone.utc)
    return at.replace(minute=at.minute - at.minute % 15, second=0, microsecond=0)


def _seconds(a: datetime | None, b: datetime | None) -> float | None:
    return (b - a).total_seconds() if a is not None and b is not None else None


def contributions(rec: CallRecord, service_level_s: int, called_again: bool) -> dict[str, float]:
    """What one call adds to its queue's row (pure)."""
    steps = rec.journey or []
    c = dict.fromkeys(COUNTERS, 0)
    c["calls"] = 1
    c["self_service"] = int(rec.outcome == "self_service")
    queued = rec.enqueued_at is not None
    c["offered"] = int(queued)
    c["callbacks"] = int(any(s.get("event") == "callback_requested" for s in steps))
    c["overflowed"] = int(any(s.get("event") == "queue_result" and s.get("result") in OVERFLOW_RESULTS
                              for s in steps))
    if queued and rec.answered_at is not None:
        wait = max(0.0, _seconds(rec.enqueued_at, rec.answered_at))
        # one record per call, however many agents it passed through: a transferred call is answered
        # (and counted for first-contact resolution) once, in the queue it ended in
        c.update(answered=1, answered_sl=int(wait <= service_level_s), answer_wait_s=wait,
                 talk_s=rec.talk_s or 0.0, wrap_s=rec.wrap_s or 0.0, repeat_24h=int(called_again),
                 transferred=int(bool(rec.transfers)), hold_s=rec.hold_s or 0.0)
    elif queued and rec.outcome == "abandoned":
        wait = _seconds(rec.enqueued_at, rec.ended_at)
        c["abandoned"] = 1
        c["short_abandoned"] = int(wait is not None and wait < SHORT_ABANDON_S)
    if rec.csat is not None:
        c.update(csat_sum=rec.csat, csat_n=1)
    return c


def refresh(session: Session, workspace: str, start: datetime, service_levels: dict[str, int]) -> int:
    """Rewrite the rows of the interval starting at `start` from its call records; the row count."""
    end = start + INTERVAL
    records = session.scalars(select(CallRecord).where(
        CallRecord.workspace == workspace, CallRecord.arrived_at >= start, CallRecord.arrived_at < end)).all()
    numbers = {r.from_number for r in records if r.from_number and r.answered_at is not None}
    later: dict[str, list[datetime]] = defaultdict(list)
    if numbers:
        for number, at in session.execute(select(CallRecord.from_number, CallRecord.arrived_at).where(
                CallRecord.workspace == workspace, CallRecord.from_number.in_(numbers),
                CallRecord.arrived_at > start, CallRecord.arrived_at <= end + REPEAT_WINDOW)):
            later[number].append(at)
    rows: dict[tuple[str, str], dict[str, float]] = {}
    for rec in records:
        again = any(rec.arrived_at < at <= rec.arrived_at + REPEAT_WINDOW for at in later.get(rec.from_number, ()))
        c = contributions(rec, service_levels.get(rec.queue or "", 20), again)
        keys = [(rec.queue or "", "")]
        if rec.queue and rec.agent_id and c["answered"]:
            keys.append((rec.queue, rec.agent_id))
        for key in keys:
            row = rows.setdefault(key, dict.fromkeys(COUNTERS, 0))
            for name, value in c.items():
                row[name] += value
    session.execute(delete(IntervalStat).where(IntervalStat.workspace == workspace, IntervalStat.start == start))
    for (queue, agent), row in rows.items():
        session.add(IntervalStat(workspace=workspace, start=start, queue=queue, agent=agent, **row))
    session.flush()
    return len(rows)


def intervals_for_call(session: Session, workspace: str, call_sid: str) -> list[datetime]:
    """The interval of this call and those of the caller's calls in the 24 h before it (their
    first-contact resolution depends on this call)."""
    rec = session.get(CallRecord, call_sid)
    if rec is None:
        return []
    starts = {interval_start(rec.arrived_at)}
    if rec.from_number:
        starts |= {interval_start(at) for at in session.scalars(select(CallRecord.arrived_at).where(
            CallRecord.workspace == workspace, CallRecord.from_number == rec.from_number,
            CallRecord.arrived_at >= rec.arrived_at - REPEAT_WINDOW, CallRecord.arrived_at < rec.arrived_at))}
    return sorted(starts)


def refresh_for_call(session: Session, workspace: str, call_sid: str, service_levels: dict[str, int]) -> int:
    """Refresh the intervals `intervals_for_call` names, at once (tests, scripts)."""
    return sum(refresh(session, workspace, start, service_levels)
               for start in intervals_for_call(session, workspace, call_sid))
