"""Small read-only JSON endpoints the agent console needs (README, "Agent console"):

- `GET /api/queues` (any agent, admin): each queue's wrap-up dispositions and timers, and its
  service-level threshold and target (for the supervisor board's alerts).
- `GET /api/agents/<id>/calls?day=today|YYYY-MM-DD` (the agent, admin): the agent's calls of
  one day in the agent's own time zone, newest first, from the call records.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, jsonify, request
from sqlalchemy import select

from store.models import Agent, CallRecord, Contact

from .auth import principal, require_agent_or_admin
from .deps import now, services

bp = Blueprint("console_api", __name__, url_prefix="/api")
MAX_CALLS = 500



@bp.get("/queues")
def queues():
    principal()
    return jsonify(queues={
        name: {"dispositions": list(q.dispositions), "offer_timeout_s": q.offer_timeout_s, "wrapup_s": q.wrapup_s,
               # the supervisor board's alerts: service level under target, a wait past service_level_s
               "service_level_s": q.service_level_s, "service_level_target": q.service_level_target}
        for name, q in services().cc.queues.items()})


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@bp.get("/agents/<agent_id>/calls")
def agent_calls(agent_id):
    require_agent_or_admin(agent_id)
    rt = services()
    with rt.sessions() as db:
        agent = db.get(Agent, agent_id)
        if agent is None:
            abort(404, f"unknown agent {agent_id!r}")
        tz = ZoneInfo(agent.timezone or rt.cc.timezone)
        wanted = request.args.get("day", "today")
        if wanted == "today":
            day = now().astimezone(tz).date()
        else:
            try:
                day = date.fromisoformat(wanted)
            except ValueError:
                abort(400, "day must be 'today' or YYYY-MM-DD")
        start = datetime.combine(day, time(0), tz)
        end = datetime.combine(day + timedelta(days=1), time(0), tz)
        rows = db.execute(
            select(CallRecord, Contact.name)
            .outerjoin(Contact, Contact.id == CallRecord.contact_id)
            .where(CallRecord.agent_id == agent_id, CallRecord.arrived_at >= start, CallRecord.arrived_at < end)
            .order_by(CallRecord.arrived_at.desc(), CallRecord.call_sid.desc())
            .limit(MAX_CALLS)).all()
        calls = [{"call_sid": rec.call_sid, "from": rec.from_number, "contact": contact_name, "queue": rec.queue,
                  "arrived_at": _iso(rec.arrived_at), "answered_at": _iso(rec.answered_at),
                  "ended_at": _iso(rec.ended_at), "duration_s": rec.duration_s, "outcome": rec.outcome,
                  "disposition": rec.disposition, "notes": rec.notes}
                 for rec, contact_name in rows]
    return jsonify(agent=agent_id, day=day.isoformat(), timezone=str(tz), calls=calls)
