"""Small read-only JSON endpoints the agent console needs (README, "Agent console"):

- `GET /api/queues` (any agent, admin): each queue's wrap-up dispositions and timers, and its
  service-level threshold and target (for the supervisor board's alerts).
- `GET /api/agents/<id>/calls?day=today|YYYY-MM-DD` (the agent, admin): the agent's calls of
  one day in the agent's own time zone, newest first, from the call records.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from .auth import principal, require_self_or_supervisor
from .deps import services

bp = Blueprint("console_api", __name__, url_prefix="/api")


@bp.get("/queues")
def queues():
    principal()
    return jsonify(queues={
        name: {"dispositions": list(q.dispositions), "offer_timeout_s": q.offer_timeout_s, "wrapup_s": q.wrapup_s,
               # the supervisor board's alerts: service level under target, a wait past service_level_s
               "service_level_s": q.service_level_s, "service_level_target": q.service_level_target}
        for name, q in services().cc.queues.items()})


@bp.get("/agents/<agent_id>/calls")
def agent_calls(agent_id):
    require_self_or_supervisor(agent_id)
    return jsonify(services().reports.agent_day(agent_id, request.args.get("day", "today")))
