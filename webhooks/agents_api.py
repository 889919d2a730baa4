"""Agents through the JSON API (CONTRACT.md): admin creates and edits agents;
an agent (or the admin) logs in and out with POST /api/agents/<id>/status."""
from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify, request

from .auth import require_admin, require_agent_or_admin, require_self_or_supervisor, require_supervisor
from .deps import hub, now, services
from .streams import agent_stream

bp = Blueprint("agents_api", __name__, url_prefix="/api")


def _json() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, "the body must be a JSON object")
    return body


@bp.get("/agents")
def list_agents():
    require_supervisor()
    return jsonify(agents=services().roster.list())


@bp.post("/agents")
def create_agent():
    require_admin()
    agent, token = services().roster.create(_json())
    return jsonify(agent=agent, token=token), 201


@bp.get("/agents/<agent_id>")
def get_agent(agent_id):
    require_self_or_supervisor(agent_id)
    return jsonify(agent=services().roster.get(agent_id))


@bp.patch("/agents/<agent_id>")
def patch_agent(agent_id):
    require_admin()
    return jsonify(agent=services().roster.update(agent_id, _json()))


@bp.delete("/agents/<agent_id>")
def delete_agent(agent_id):
    require_admin()
    services().roster.delete(agent_id)
    return jsonify(deleted=agent_id)


@bp.post("/agents/<agent_id>/status")
def set_status(agent_id):
    require_self_or_supervisor(agent_id)
    return jsonify(status=services().acd.change_status(agent_id, _json().get("status"), now()))


@bp.post("/agents/<agent_id>/credentials")
def new_credentials(agent_id):
    """A new API token for the agent (the old one stops working); admin only."""
    require_admin()
    return jsonify(agent_id=agent_id, token=services().roster.new_token(agent_id)), 201


@bp.get("/agents/<agent_id>/token")
def softphone_token(agent_id):
    """A Twilio access token for the browser softphone; identity is what <Client> dials."""
    require_agent_or_admin(agent_id)
    return jsonify(identity=agent_id, token=services().roster.softphone_token(agent_id))


@bp.get("/agents/<agent_id>/events")
def agent_events(agent_id):
    """Server-Sent Events: status, offer (with the screen pop), offer_canceled, connected, ended."""
    require_self_or_supervisor(agent_id)
    stream = agent_stream(hub(), services(), agent_id)
    if stream is None:
        abort(404, f"unknown agent {agent_id!r}")
    return Response(stream, mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
