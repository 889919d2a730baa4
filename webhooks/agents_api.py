"""Agents through the JSON API (CONTRACT.md): admin creates and edits agents;
an agent (or the admin) logs in and out with POST /api/agents/<id>/status."""
from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify

from .answers import (
    EVENT_STREAM,
    AgentAnswer,
    AgentCreated,
    AgentList,
    Credentials,
    Deleted,
    SoftphoneToken,
    StatusAnswer,
)
from .deps import hub, now, services
from .openapi import operation
from .schemas import AgentChange, AgentNew, StatusChange
from .streams import agent_stream

bp = Blueprint("agents_api", __name__, url_prefix="/api")


@bp.get("/agents")
@operation(summary="Every agent, with their live status", auth="supervisor", answers={200: AgentList}, errors=(503,))
def list_agents():
    return jsonify(agents=services().roster.list())


@bp.post("/agents")
@operation(summary="Create an agent", auth="admin", body=AgentNew, answers={201: AgentCreated}, errors=(409, 503))
def create_agent(body: AgentNew):
    agent, token = services().roster.create(body.model_dump(exclude_unset=True))
    return jsonify(agent=agent, token=token), 201


@bp.get("/agents/<agent_id>")
@operation(summary="An agent", auth="self_or_supervisor", answers={200: AgentAnswer}, errors=(503,))
def get_agent(agent_id):
    return jsonify(agent=services().roster.get(agent_id))


@bp.patch("/agents/<agent_id>")
@operation(summary="Change an agent", auth="admin", body=AgentChange, answers={200: AgentAnswer}, errors=(503,))
def patch_agent(agent_id, body: AgentChange):
    return jsonify(agent=services().roster.update(agent_id, body.model_dump(exclude_unset=True)))


@bp.delete("/agents/<agent_id>")
@operation(summary="Delete an agent (refused while they hold an offer or a call)", auth="admin",
           answers={200: Deleted}, errors=(409, 503))
def delete_agent(agent_id):
    people = services().accounts.of_agent(agent_id)      # read first: deleting the agent unties them
    services().roster.delete(agent_id)
    services().accounts.end_sessions_of(people)
    return jsonify(deleted=agent_id)


@bp.post("/agents/<agent_id>/status")
@operation(summary="Log in, take a break or log out", auth="self_or_supervisor", body=StatusChange,
           answers={200: StatusAnswer}, errors=(409,))
def set_status(agent_id, body: StatusChange, who):
    """409 (with the agent's `status`) while an offer or a call holds the agent; during wrap-up the
    answer is `wrapup` and the status applies when it ends. A change by someone else (a supervisor)
    names them in the agent's `status` event."""
    by = "" if who.kind == "agent" and who.agent_id == agent_id else (
        who.name if who.via_session else "an administrator")      # a person by username; the API's token
    return jsonify(status=services().acd.change_status(agent_id, body.status, now(), by, body.reason))


@bp.post("/agents/<agent_id>/credentials")
@operation(summary="A new API token for the agent", auth="admin", answers={201: Credentials}, errors=(503,))
def new_credentials(agent_id):
    """A new API token for the agent (the old one stops working, and so do the sessions of the person
    who stands for the agent: new credentials mean a fresh sign-in); admin only."""
    token = services().roster.new_token(agent_id)
    services().accounts.end_sessions_of_agent(agent_id)
    return jsonify(agent_id=agent_id, token=token), 201


@bp.get("/agents/<agent_id>/token")
@operation(summary="A Twilio access token for the softphone", auth="agent_or_admin", answers={200: SoftphoneToken},
           errors=(503,))
def softphone_token(agent_id):
    """A Twilio access token for the browser softphone; identity is what <Client> dials."""
    return jsonify(identity=agent_id, token=services().roster.softphone_token(agent_id))


@bp.get("/agents/<agent_id>/events")
@operation(summary="The agent's events as Server-Sent Events", auth="self_or_supervisor", answers={200: EVENT_STREAM})
def agent_events(agent_id):
    """Server-Sent Events: status, offer (with the screen pop), offer_canceled, connected, ended."""
    stream = agent_stream(hub(), services(), agent_id)
    if stream is None:
        abort(404, f"unknown agent {agent_id!r}")
    return Response(stream, mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
