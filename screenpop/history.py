"""The caller's past, from call records: what the agent should know before answering.

Pure: turns CallRecord rows (or anything with the same attributes) into the
screen pop's `history` entries and the repeat-caller flag.
"""
from __future__ import annotations

from datetime import datetime, timedelta

HISTORY_LIMIT = 5
REPEAT_WINDOW = timedelta(hours=72)    # a caller back within three days probably has an open problem


def entry(record, names: dict[str, str] | None = None) -> dict:
    """One past interaction: when, who (the agent's id and name), where, how it ended, and the agent's
    notes (verbatim)."""
    return {
        "call_sid": record.call_sid,
        "at": record.arrived_at.isoformat(timespec="seconds"),
        "agent": record.agent_id,
        "agent_name": (names or {}).get(record.agent_id) if record.agent_id else None,
        "queue": record.queue,
        "disposition": record.disposition,
        "notes": record.notes,
        "outcome": record.outcome,
    }


def entries(records: list, limit: int = HISTORY_LIMIT, names: dict[str, str] | None = None) -> list[dict]:
    """Newest first, as the records come (store.records.earlier_calls orders them); `names`: the
    agents' names by id."""
    return [entry(r, names) for r in records[:limit]]


def is_repeat_caller(earlier_arrivals: list[datetime], arrived: datetime) -> bool:
    """True when an earlier call arrived within 72 h before this one (72 h exactly counts)."""
    return any(arrived - REPEAT_WINDOW <= at <= arrived for at in earlier_arrivals)
