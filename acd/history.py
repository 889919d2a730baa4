"""Past calls, one record each, for supervisors and programs: `GET /api/calls` and the call search
page, one call whole (`GET /api/calls/<sid>`), and where its recording is.

The call records of some of the contact center's days (its time zone), newest first, narrowed by
queue, agent or outcome, paged with an opaque cursor: a page ends where the next one starts, so a
call written while someone reads neither repeats nor slips between two pages (the order is the
arrival time, then the call sid). Reports sum these same records (acd/reporting.py); this is the
list behind the sums, and what a load run checks for lost records (twiliosim/truth.py).
"""
from __future__ import annotations

import base64
import binascii
from datetime import datetime, time, timedelta
from typing import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select

from contactcenter.errors import Invalid, NotFound
from contactcenter.model import ContactCenter
from store.agents import agent_names
from store.models import CALL_OUTCOMES, CallRecord, Contact

from .days import check_span, parse_day

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class CallHistory:
    def __init__(self, cc: ContactCenter, sessions, clock: Callable[[], datetime]):
        self.cc, self.sessions, self.clock = cc, sessions, clock

    def page(self, since: str | None = None, until: str | None = None, *, queue: str | None = None,
             agent: str | None = None, outcome: str | None = None, limit: str | int | None = None,
             cursor: str | None = None, q: str | None = None) -> dict:
        """{"from", "to", "timezone", "calls": [...], "next": cursor or None}; `q`: only calls from a
        number holding its digits, or of a contact whose name holds it."""
        tz = ZoneInfo(self.cc.timezone)
        today = self.clock().astimezone(tz).date()
        first, last = parse_day("from", since, today), parse_day("to", until, today)
        check_span(first, last)
        if outcome is not None and outcome not in CALL_OUTCOMES:
            raise Invalid(f"outcome must be one of {', '.join(CALL_OUTCOMES)}")
        size = _limit(limit)
        query = select(CallRecord, Contact.name).outerjoin(Contact, Contact.id == CallRecord.contact_id).where(
            CallRecord.workspace == self.cc.workspace,
            CallRecord.arrived_at >= datetime.combine(first, time(), tz),
            CallRecord.arrived_at < datetime.combine(last + timedelta(days=1), time(), tz))
        for column, value in ((CallRecord.queue, queue), (CallRecord.agent_id, agent), (CallRecord.outcome, outcome)):
            if value is not None:
                query = query.where(column == value)
        if q and q.strip():
            query = query.where(matching(q.strip()))
        if cursor:
            at, sid = _decode(cursor)
            query = query.where(or_(CallRecord.arrived_at < at,
                                    and_(CallRecord.arrived_at == at, CallRecord.call_sid < sid)))
        query = query.order_by(CallRecord.arrived_at.desc(), CallRecord.call_sid.desc()).limit(size + 1)
        with self.sessions() as db:
            rows = db.execute(query).all()
            calls = [{**_call(rec), "contact": name} for rec, name in rows[:size]]
        more = len(rows) > size
        return {"from": first.isoformat(), "to": last.isoformat(), "timezone": self.cc.timezone, "calls": calls,
                "next": _encode(rows[size - 1][0]) if more else None}

    def one(self, call_sid: str) -> dict:
        """One call's record with all it knows: the fields of a page's entry, its contact, the journey
        and the parts (segments), CSAT, the voicemail's transcript, whether a recording is kept."""
        with self.sessions() as db:
            row = db.execute(select(CallRecord, Contact.name).outerjoin(Contact, Contact.id == CallRecord.contact_id)
                             .where(CallRecord.call_sid == call_sid, CallRecord.workspace == self.cc.workspace)).first()
            if row is None:
                raise NotFound(f"no call record {call_sid!r}")
            rec, name = row
            mentioned = {rec.agent_id} | {seg.get(k) for seg in rec.segments or [] for k in ("agent", "by")}
            return {**_call(rec), "contact": name, "journey": list(rec.journey or []),
                    "agent_names": agent_names(db, {a for a in mentioned if isinstance(a, str) and a}),
                    "segments": list(rec.segments or []), "csat": rec.csat, "hold_s": rec.hold_s,
                    "transfers": rec.transfers, "voicemail_transcript": rec.voicemail_transcript,
                    "recording": bool(rec.recording_url), "recording_duration_s": rec.recording_duration_s}

    def recording_url(self, call_sid: str) -> str:
        """Where Twilio keeps the call's recording (its voicemail): for the service to fetch, never
        for a page."""
        with self.sessions() as db:
            url = db.scalar(select(CallRecord.recording_url).where(CallRecord.call_sid == call_sid,
                                                                     CallRecord.workspace == self.cc.workspace))
        if not url:
            raise NotFound(f"no recording for {call_sid!r}")
        return url


def matching(q: str):
    """A call from a number holding q's digits (three or more), or of a contact whose name holds q."""
    digits = "".join(ch for ch in q if ch.isdigit())
    name = Contact.name.ilike(f"%{q.replace('%', '').replace('_', '')}%")
    return or_(CallRecord.from_number.contains(digits), name) if len(digits) >= 3 else name


def _limit(raw: str | int | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    text = str(raw)
    if not (text.isascii() and text.isdecimal()) or not 1 <= int(text) <= MAX_LIMIT:
        raise Invalid(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(text)


def _encode(rec: CallRecord) -> str:
    raw = f"{rec.arrived_at.isoformat()}|{rec.call_sid}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, sid = raw.split("|", 1)
        return datetime.fromisoformat(at), sid
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Invalid("cursor is not one this service gave") from None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _call(rec: CallRecord) -> dict:
    return {"call_sid": rec.call_sid, "from": rec.from_number, "to": rec.to_number, "queue": rec.queue,
            "outcome": rec.outcome, "agent_id": rec.agent_id, "arrived_at": _iso(rec.arrived_at),
            "enqueued_at": _iso(rec.enqueued_at), "offered_at": _iso(rec.offered_at),
            "answered_at": _iso(rec.answered_at), "ended_at": _iso(rec.ended_at), "duration_s": rec.duration_s,
            "talk_s": rec.talk_s, "wrap_s": rec.wrap_s, "disposition": rec.disposition, "notes": rec.notes,
            "ivr_path": list(rec.ivr_path or [])}
