"""Call records: one row per Twilio CallSid, written piecemeal by webhooks.

Twilio delivers a call's facts over several callbacks (voice, status,
recording, transcription) in no guaranteed order and sometimes twice, from
the web process and the worker alike. Every writer therefore merges what it
knows into the row with upsert_call_record and never overwrites a known
value with "unknown" (None).
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, inspect, or_, select
from sqlalchemy.orm import Session

from .models import CallRecord, CallRule

log = logging.getLogger(__name__)

TIMESTAMP_FIELDS = frozenset({"arrived_at", "enqueued_at", "offered_at", "answered_at", "ended_at"})
# Bookkeeping columns are maintained by the model, never by callers.
_MANAGED_FIELDS = frozenset({"created_at", "updated_at"})
WRITABLE_FIELDS = frozenset(
    attr.key for attr in inspect(CallRecord).column_attrs if attr.key not in _MANAGED_FIELDS
)


def _to_utc(field: str, value: Any) -> datetime:
    """Datetime (naive = UTC), epoch seconds or ISO 8601 text -> aware UTC."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)
    # bool is an int subclass; True is not a timestamp.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=timezone.utc)
    if isinstance(value, str):
        try:
            return _to_utc(field, datetime.fromisoformat(value))
        except ValueError:
            pass
    raise ValueError(f"{field}: expected a datetime or epoch seconds, got {value!r}")


def _normalise(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    unknown = set(data) - WRITABLE_FIELDS
    if unknown:
        raise ValueError(f"unknown call record field(s): {', '.join(sorted(unknown))}")
    call_sid = data.get("call_sid")
    if not call_sid or not isinstance(call_sid, str):
        raise ValueError("call record needs a call_sid")
    values = {}
    for key, value in data.items():
        if key == "call_sid" or value is None:
            continue  # None means "not known by this writer": keep what is stored
        values[key] = _to_utc(key, value) if key in TIMESTAMP_FIELDS else value
    return call_sid, values


def _dialect_insert(session: Session):
    """The dialect's INSERT with ON CONFLICT (PostgreSQL, SQLite), else None."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
        return insert
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
        return insert
    return None


def _insert_if_absent(session: Session, call_sid: str, values: dict[str, Any]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING, so two processes racing on the same
    new CallSid both succeed; the loser then merges into the winner's row."""
    insert = _dialect_insert(session)
    if insert is None:  # no portable upsert: plain ORM insert, a race raises IntegrityError
        session.add(CallRecord(call_sid=call_sid, **values))
        session.flush()
        return
    stmt = (
        insert(CallRecord)
        .values(call_sid=call_sid, **values)
        .on_conflict_do_nothing(index_elements=["call_sid"])
    )
    session.execute(stmt)


def insert_call_record_if_absent(session: Session, data: dict[str, Any]) -> None:
    """Insert the call record ``data["call_sid"]`` unless one exists (then nothing changes); does not
    commit. For what is known while the full record cannot be written (the call's state is away)."""
    call_sid, values = _normalise(data)
    _insert_if_absent(session, call_sid, values)


def upsert_call_record(session: Session, data: dict[str, Any]) -> CallRecord:
    """Insert or merge the call record ``data["call_sid"]``; does not commit.

    Keys with a non-None value overwrite the stored column, absent or None
    keys leave it alone, so repeating a write changes nothing. Timestamp
    fields accept datetimes or float epoch seconds. Unknown keys raise
    ValueError. List fields (ivr_path, ivr_inputs, journey) are replaced
    whole: the caller sends the complete list it knows.
    """
    call_sid, values = _normalise(data)
    record = session.get(CallRecord, call_sid)
    if record is None:
        _insert_if_absent(session, call_sid, values)
        # populate_existing: the row may have been loaded before another
        # process inserted it (identity map would otherwise hold None).
        record = session.get(CallRecord, call_sid, populate_existing=True)
        if record is None:  # pragma: no cover - the insert just guaranteed it
            raise RuntimeError(f"call record {call_sid} vanished after insert")
    for key, value in values.items():
        # Only assign real changes: an unchanged row must not get an UPDATE
        # (which would also bump updated_at).
        if getattr(record, key) != value:
            setattr(record, key, value)
    return record


def _index(value: Any) -> int | None:
    """A rule's index as the journey holds it; None for anything else (a bool is no index)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31 else None


def _expression(step: dict, position: int, index: int) -> str | None:
    """A queue rule's condition if the step carries it: `when` a list beside `rules`, or by index."""
    when = step.get("when")
    if isinstance(when, list) and position < len(when):
        return when[position] if isinstance(when[position], str) else None
    if isinstance(when, dict):
        value = when.get(str(index), when.get(index))
        return value if isinstance(value, str) else None
    return None


def rule_rows(journey: list[dict] | None) -> list[dict[str, Any]]:
    """The routing rules a call took, in journey order (pure): a `route` step is one row (`rule` -1
    when no rule held: the else), a `queue_rules` step one row per rule that held. Malformed steps
    are left out (and logged): the record is always written."""
    rows: list[dict[str, Any]] = []
    for step in journey or ():
        if not isinstance(step, dict) or step.get("event") not in ("route", "queue_rules"):
            continue
        node = step.get("node")
        if step["event"] == "route":
            rule = -1 if step.get("rule") is None else _index(step.get("rule"))
            target, when = step.get("next"), step.get("when")
            found = [(rule, when if isinstance(when, str) and rule != -1 else None)]
        else:
            target, held = step.get("queue"), step.get("rules")
            found = [(_index(i), _expression(step, n, i)) for n, i in enumerate(held if isinstance(held, list) else ())]
        for rule, expression in found:
            if rule is None or not isinstance(node, str) or not isinstance(target, str):
                log.warning("journey step %r is not a rule taken; left out of the call's rules", str(step)[:200])
                continue
            rows.append({"node": node[:64], "kind": "route" if step["event"] == "route" else "queue",
                         "rule": rule, "expression": expression, "target": target[:64]})
    return rows


def write_call_rules(session: Session, record: CallRecord, tz: str) -> int:
    """Replace the rules of `record`'s call with those its journey took (`rule_rows`), keyed by the
    call's day in the contact center's time zone `tz`; does not commit; the number of rows. Rows are
    upserted by their place in the call and the rest deleted, so writing the record again (a late
    webhook), even by two processes at once, leaves the same rows, never twice as many."""
    day = record.arrived_at.astimezone(ZoneInfo(tz)).date().isoformat()
    key = {"workspace": record.workspace, "call_sid": record.call_sid}
    rows = [{**key, "seq": seq, "day": day, "flow": (record.flow or "")[:64], **row}
            for seq, row in enumerate(rule_rows(record.journey))]
    insert = _dialect_insert(session)
    if rows and insert is not None:
        stmt = insert(CallRule).values(rows)
        session.execute(stmt.on_conflict_do_update(
            index_elements=["workspace", "call_sid", "seq"],
            set_={name: stmt.excluded[name] for name in rows[0] if name not in ("workspace", "call_sid", "seq")}))
    elif rows:  # no portable upsert: replaced whole
        session.execute(delete(CallRule).where(CallRule.workspace == record.workspace,
                                               CallRule.call_sid == record.call_sid))
        session.add_all(CallRule(**row) for row in rows)
        session.flush()
    session.execute(delete(CallRule).where(CallRule.workspace == record.workspace,
                                           CallRule.call_sid == record.call_sid, CallRule.seq >= len(rows)))
    return len(rows)


def get_call_record(session: Session, call_sid: str) -> CallRecord | None:
    return session.get(CallRecord, call_sid)


def recent_calls_from(session: Session, e164: str, limit: int = 5) -> list[CallRecord]:
    """The caller's latest calls, newest first (served by the from_number index)."""
    stmt = (
        select(CallRecord)
        .where(CallRecord.from_number == e164)
        .order_by(CallRecord.arrived_at.desc(), CallRecord.call_sid.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def _callers_calls(e164: str, contact_id: int | None):
    """Calls from this number, or made by this CRM contact from any of their numbers."""
    if contact_id is None:
        return CallRecord.from_number == e164
    return or_(CallRecord.from_number == e164, CallRecord.contact_id == contact_id)


def earlier_calls(session: Session, e164: str, before: datetime, exclude_sid: str,
                  contact_id: int | None = None, limit: int = 5) -> list[CallRecord]:
    """The caller's calls that arrived up to `before` (this call's arrival), newest first,
    without the call `exclude_sid` itself: the screen pop's history."""
    stmt = (
        select(CallRecord)
        .where(_callers_calls(e164, contact_id), CallRecord.arrived_at <= before,
               CallRecord.call_sid != exclude_sid)
        .order_by(CallRecord.arrived_at.desc(), CallRecord.call_sid.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def csat_average(session: Session, e164: str, contact_id: int | None = None) -> float | None:
    """Mean CSAT of the caller's (or contact's) rated calls; None when none was rated."""
    stmt = select(func.avg(CallRecord.csat)).where(_callers_calls(e164, contact_id), CallRecord.csat.is_not(None))
    value = session.scalar(stmt)
    return None if value is None else round(float(value), 2)


HUNG_UP = ("ivr_hangup", "abandoned")       # outcomes of a caller who hung up before anyone took the call


def ivr_node_counts(session: Session, workspace: str, flow: str, since: datetime, until: datetime
                    ) -> dict[str, dict[str, int]]:
    """For the flow's picture: node -> {"callers": calls that passed through it, "hung_up": calls whose
    caller hung up there (in the menu, or waiting in the node's queue)}, of the calls that arrived in
    [since, until)."""
    rows = session.execute(select(CallRecord.ivr_path, CallRecord.outcome).where(
        CallRecord.workspace == workspace, CallRecord.flow == flow, CallRecord.arrived_at >= since,
        CallRecord.arrived_at < until)).all()
    counts: dict[str, dict[str, int]] = {}
    for path, outcome in rows:
        for node in dict.fromkeys(path or []):
            counts.setdefault(node, {"callers": 0, "hung_up": 0})["callers"] += 1
        if path and outcome in HUNG_UP:
            counts.setdefault(path[-1], {"callers": 0, "hung_up": 0})["hung_up"] += 1
    return counts
