"""The audit trail: every state-changing request by a person or a token (who, in which role, what,
on what, when, from where, how it was answered), kept in SQL and read newest first by admins.

Entries are pushed to a Redis list first and moved to SQL in batches (by the worker, and by every
read): an agent's accept or wrap-up never waits for SQL, and with SQL away nothing is lost.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

import redis
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from contactcenter.errors import Invalid
from store.keys import Keys
from store.models import AuditEntry

log = logging.getLogger(__name__)
BATCH = 500
FIELDS = {"actor": 64, "role": 16, "action": 64, "target": 200, "method": 8, "path": 300, "address": 64}
MAX_LIMIT = 500


def parse_when(value: object, name: str) -> datetime | None:
    """An ISO date or date-time (UTC unless it says otherwise), years 2000-2100; None when absent."""
    if value in (None, ""):
        return None
    try:
        when = datetime.fromisoformat(str(value)[:40])
    except ValueError:
        raise Invalid(f"{name}: an ISO date or date-time, not {str(value)[:40]!r}") from None
    if not 2000 <= when.year <= 2100:
        raise Invalid(f"{name}: a year between 2000 and 2100")
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


class AuditTrail:
    def __init__(self, r: redis.Redis, keys: Keys, sql: sessionmaker):
        self.r, self.keys, self.sql = r, keys, sql

    def record(self, at: datetime, **fields) -> None:
        entry = {name: str(fields.get(name) or "")[:size] for name, size in FIELDS.items()}
        entry.update(at=at.astimezone(timezone.utc).isoformat(), status=int(fields.get("status") or 0))
        try:
            self.r.rpush(self.keys.audit_pending(), json.dumps(entry))
        except redis.RedisError:
            log.warning("audit entry kept in the log only (Redis away): %s", entry)

    def drain(self) -> int:
        """Move pending entries to SQL, oldest first; put them back when SQL refuses. How many moved."""
        moved = 0
        while True:
            raw = self.r.lpop(self.keys.audit_pending(), BATCH)
            if not raw:
                return moved
            entries = [json.loads(item) for item in raw]
            try:
                with self.sql() as db:
                    db.add_all(AuditEntry(**{**e, "at": datetime.fromisoformat(e["at"])}) for e in entries)
                    db.commit()
            except SQLAlchemyError:
                self.r.lpush(self.keys.audit_pending(), *reversed(raw))   # back at the head, in order
                raise
            moved += len(entries)
            if len(raw) < BATCH:
                return moved

    def search(self, since: object = None, until: object = None, actor: object = None, action: object = None,
               limit: object = 100, before_id: object = None) -> dict:
        """Entries newest first, filtered; `next` pages on (`before_id`)."""
        try:
            limit = int(limit or 100)
            before = int(before_id) if before_id not in (None, "") else None
        except (TypeError, ValueError):
            raise Invalid("limit and before: whole numbers") from None
        if not 1 <= limit <= MAX_LIMIT:
            raise Invalid(f"limit: between 1 and {MAX_LIMIT}")
        self.drain()
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit + 1)
        if (start := parse_when(since, "from")) is not None:
            query = query.where(AuditEntry.at >= start)
        if (end := parse_when(until, "to")) is not None:
            query = query.where(AuditEntry.at <= end)
        if isinstance(actor, str) and actor:
            query = query.where(AuditEntry.actor == actor[:64])
        if isinstance(action, str) and action:
            query = query.where(AuditEntry.action == action[:64])
        if before is not None:
            query = query.where(AuditEntry.id < before)
        with self.sql() as db:
            rows = list(db.scalars(query))
        entries = [{"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "role": e.role, "action": e.action,
                    "target": e.target, "method": e.method, "path": e.path, "status": e.status,
                    "address": e.address} for e in rows[:limit]]
        return {"entries": entries, "next": entries[-1]["id"] if len(rows) > limit else None}
