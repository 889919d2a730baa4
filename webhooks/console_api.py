"""Small read-only JSON endpoints the agent console needs (README, "Agent console"):

- `GET /api/queues` (any agent, admin): each queue's wrap-up dispositions and timers, and its
  service-level threshold and target (for the supervisor board's alerts).
- `GET /api/agents/<id>/calls?day=today|YYYY-MM-DD` or `?from&to`, and `q` (the agent, a supervisor):
  the agent's calls of a day or a range in the agent's own time zone, newest first, from the call
  records, narrowed to a number or a contact's name.
"""
from __future__ import annotations

from flask import Blueprint, jsonify

from .answers import AgentDay, Queues
from .deps import services
from .openapi import operation
from .schemas import AgentCallsQuery

bp = Blueprint("console_api", __name__, url_prefix="/api")


@bp.get("/queues")
@operation(summary="Each queue's dispositions, timers and service-level target", auth="signed_in",
           answers={200: Queues})
def queues():
    return jsonify(queues={
        name: {"skills": dict(q.skills), "dispositions": list(q.dispositions), "offer_timeout_s": q.offer_timeout_s,
               "wrapup_s": q.wrapup_s,
               # the supervisor board's alerts: service level under target, a wait past service_level_s
               "service_level_s": q.service_level_s, "service_level_target": q.service_level_target,
               "alerts": {"longest_wait_s": q.alerts.get("longest_wait_s", q.service_level_s),
                          "service_level": q.alerts.get("service_level", q.service_level_target),
                          "waiting": q.alerts.get("waiting")}}
        for name, q in services().cc.queues.items()})


@bp.get("/agents/<agent_id>/calls")
@operation(summary="An agent's calls of a day or a range of days, newest first, searchable",
           auth="self_or_supervisor", query=AgentCallsQuery, answers={200: AgentDay}, errors=(503,))
def agent_calls(agent_id, query: AgentCallsQuery):
    """The agent's calls of `day` (or `from`..`to`, at most 92 days) in the agent's own time zone,
    from the call records; `q` narrows them to a number or a contact's name."""
    return jsonify(services().reports.agent_day(agent_id, query.day, since=query.since, until=query.until, q=query.q))
