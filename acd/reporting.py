"""What happened, read from SQL: the reports over the interval table (by interval, day, queue or
agent, as JSON or CSV) and one agent's calls of a day for the agent console.

Days are local: the contact center's for reports, the agent's own time zone for their calls, so
"today" is the day the reader lives in. Malformed requests are refused with `Invalid`, an unknown
agent with `NotFound`, in the words the API has always answered.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import select

from contactcenter.errors import Invalid, NotFound
from contactcenter.model import ContactCenter
from store import agents as agent_store
from store.models import Agent, CallRecord, Contact
from store.records import ivr_node_counts
from store.reports import GROUPINGS, MAX_DAYS, report, to_csv

from .days import check_span, parse_day
from .history import matching

MAX_CALLS = 500          # an agent's day in the console: more than anyone takes, a bound on the answer
MAX_SEARCH_DAYS = 92     # an agent's search through their calls: a quarter at a time


@dataclass
class Report:
    by: str
    since: date
    until: date
    timezone: str
    rows: list[dict]

    def as_json(self) -> dict:
        return {"by": self.by, "from": self.since.isoformat(), "to": self.until.isoformat(),
                "timezone": self.timezone, "rows": self.rows}

    def csv(self) -> str:
        return to_csv(self.rows, self.by)

    @property
    def filename(self) -> str:
        return f"callrouter-{self.by}-{self.since}-{self.until}.csv"


class Reports:
    def __init__(self, cc: ContactCenter, sessions, clock: Callable[[], datetime]):
        self.cc, self.sessions, self.clock = cc, sessions, clock

    def report(self, by: str, since: str | None, until: str | None, queue: str | None = None,
               agent: str | None = None) -> Report:
        """The rows grouped `by`, over the days `since`..`until` (YYYY-MM-DD; empty: today)."""
        today = self.clock().astimezone(ZoneInfo(self.cc.timezone)).date()
        if by not in GROUPINGS:
            raise Invalid(f"by must be one of {', '.join(GROUPINGS)}")
        first, last = parse_day("from", since, today), parse_day("to", until, today)
        check_span(first, last, MAX_DAYS)
        with self.sessions() as session:
            try:
                rows = report(session, self.cc.workspace, self.cc.timezone, first, last, by, queue=queue, agent=agent)
            except ValueError as exc:
                raise Invalid(str(exc)) from None
        return Report(by, first, last, self.cc.timezone, rows)

    def choices(self) -> dict:
        """What the reports form offers to narrow by: {"queues": [name], "agents": [(id, name)]}."""
        with self.sessions() as db:
            agents = [(a.id, a.name) for a in agent_store.list_agents(db)]
        return {"queues": sorted(self.cc.queues), "agents": agents}

    def flow_counts(self, flow: str) -> dict[str, dict[str, int]]:
        """Today's callers through each node of `flow`, and those who hung up there (the contact
        center's day)."""
        tz = ZoneInfo(self.cc.timezone)
        today = self.clock().astimezone(tz).date()
        start = datetime.combine(today, time(0), tz)
        with self.sessions() as db:
            return ivr_node_counts(db, self.cc.workspace, flow, start, start + timedelta(days=1))

    def agent_day(self, agent_id: str, day: str = "today", *, since: str | None = None, until: str | None = None,
                  q: str | None = None) -> dict:
        """The agent's calls of `day` ("today" or YYYY-MM-DD), or of `since`..`until`, in the agent's
        time zone, newest first; `q`: only those whose number holds its digits or whose contact's
        name holds it (any case)."""
        with self.sessions() as db:
            agent = db.get(Agent, agent_id)
            if agent is None:
                raise NotFound(f"unknown agent {agent_id!r}")
            tz = ZoneInfo(agent.timezone or self.cc.timezone)
            today = self.clock().astimezone(tz).date()
            if since:
                first = parse_day("from", since, today)
                last = parse_day("to", until, first)
                check_span(first, last, MAX_SEARCH_DAYS)
            else:
                first = last = today if day == "today" else parse_day("day", day or None, today,
                                                                       "'today' or YYYY-MM-DD")
            start = datetime.combine(first, time(0), tz)
            end = datetime.combine(last + timedelta(days=1), time(0), tz)
            stmt = (select(CallRecord, Contact.name)
                    .outerjoin(Contact, Contact.id == CallRecord.contact_id)
                    .where(CallRecord.agent_id == agent_id, CallRecord.arrived_at >= start,
                           CallRecord.arrived_at < end))
            if q and q.strip():
                stmt = stmt.where(matching(q.strip()))
            rows = db.execute(stmt.order_by(CallRecord.arrived_at.desc(), CallRecord.call_sid.desc())
                              .limit(MAX_CALLS)).all()
            calls = [_call(rec, contact_name) for rec, contact_name in rows]
        out = {"agent": agent_id, "day": first.isoformat(), "timezone": str(tz), "calls": calls}
        if since:
            out.update({"from": first.isoformat(), "to": last.isoformat()})
        return out


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _call(rec: CallRecord, contact_name: str | None) -> dict:
    return {"call_sid": rec.call_sid, "from": rec.from_number, "contact": contact_name, "queue": rec.queue,
            "arrived_at": _iso(rec.arrived_at), "answered_at": _iso(rec.answered_at),
            "ended_at": _iso(rec.ended_at), "duration_s": rec.duration_s, "outcome": rec.outcome,
            "disposition": rec.disposition, "notes": rec.notes}
