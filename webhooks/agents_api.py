"""Agents through the JSON API (CONTRACT.md): admin creates and edits agents;
an agent (or the admin) logs in and out with POST /api/agents/<id>/status."""
from __future__ import annotations

import json
import queue
from datetime import datetime, timezone

from flask import Blueprint, Response, abort, current_app, jsonify, request
from sqlalchemy.exc import IntegrityError
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VoiceGrant

from acd.agents import SETTABLE
from acd.shifts import on_shift
from ivr.checker import Checker
from ivr.config import check_agent
from screenpop import context
from screenpop.pop import build as build_pop
from store import agents as agent_store
from store.models import Agent

from .auth import require_admin, require_agent_or_admin
from .streams import KEEPALIVE_S, sse

bp = Blueprint("agents_api", __name__, url_prefix="/api")


def _rt():
    return current_app.extensions["callrouter"]


def _now() -> datetime:
    return current_app.extensions["callrouter_ivr"].clock()


def _json() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, "the body must be a JSON object")
    return body


def _validated(body: dict, partial: bool) -> dict:
    checker = Checker()
    agent = check_agent(checker, body, "agent", _rt().cc.timezone, partial=partial)
    if checker.problems:
        abort(400, "; ".join(f"{path}: {reason}" for path, reason in checker.problems))
    return agent


def _payload(agent: Agent, live: dict | None) -> dict:
    live = live or {}
    since = float(live["since"]) if live.get("since") else None
    return {**agent_store.as_dict(agent), "status": live.get("status", "offline"),
            "since": datetime.fromtimestamp(since, timezone.utc).isoformat() if since else None,
            "on_shift": on_shift(agent.schedule, agent.timezone, _now())}


def _load(db, agent_id: str) -> Agent:
    agent = db.get(Agent, agent_id)
    if agent is None:
        abort(404, f"unknown agent {agent_id!r}")
    return agent


@bp.get("/agents")
def list_agents():
    require_admin()
    live = _rt().agents.all()
    with _rt().sessions() as db:
        return jsonify(agents=[_payload(a, live.get(a.id)) for a in agent_store.list_agents(db)])


@bp.post("/agents")
def create_agent():
    require_admin()
    data = _validated(_json(), partial=False)
    rt = _rt()
    with rt.sessions() as db:
        if db.get(Agent, data["id"]) is not None:
            abort(409, f"agent {data['id']!r} exists")
        agent, token = agent_store.create_agent(db, data)
        try:
            db.commit()
        except IntegrityError:
            abort(409, f"agent {data['id']!r} exists")
        rt.agents.sync(agent_store.as_dict(agent), _now())
        return jsonify(agent=_payload(agent, rt.agents.get(agent.id)), token=token), 201


@bp.get("/agents/<agent_id>")
def get_agent(agent_id):
    require_agent_or_admin(agent_id)
    with _rt().sessions() as db:
        return jsonify(agent=_payload(_load(db, agent_id), _rt().agents.get(agent_id)))


@bp.patch("/agents/<agent_id>")
def patch_agent(agent_id):
    require_admin()
    body = _json()
    if "id" in body and body["id"] != agent_id:
        abort(400, "agent.id: cannot be changed")
    rt = _rt()
    with rt.sessions() as db:
        agent = _load(db, agent_id)
        merged = {**agent_store.as_dict(agent), **body}
        data = _validated(merged, partial=False)
        agent_store.update_agent(agent, {k: data[k] for k in body if k != "id"})
        db.commit()
        rt.agents.sync(agent_store.as_dict(agent), _now())
        return jsonify(agent=_payload(agent, rt.agents.get(agent_id)))


@bp.delete("/agents/<agent_id>")
def delete_agent(agent_id):
    require_admin()
    rt = _rt()
    with rt.sessions() as db:
        agent = _load(db, agent_id)
        result = rt.agents.remove(agent_id)
        if result != "removed":
            abort(409, f"agent {agent_id!r} is {result}; try again when the call is over")
        db.delete(agent)
        db.commit()
    return jsonify(deleted=agent_id)


@bp.post("/agents/<agent_id>/status")
def set_status(agent_id):
    require_agent_or_admin(agent_id)
    wanted = _json().get("status")
    if wanted not in SETTABLE:
        abort(400, f"status must be one of {', '.join(SETTABLE)}")
    code, current = _rt().acd.set_status(agent_id, wanted, _now())
    if code == 404:
        abort(404, f"unknown agent {agent_id!r}")
    if code == 409:
        return jsonify(error=f"agent is {current}: the offer or call decides what comes next", status=current), 409
    return jsonify(status=current)


@bp.post("/agents/<agent_id>/credentials")
def new_credentials(agent_id):
    """A new API token for the agent (the old one stops working); admin only."""
    require_admin()
    with _rt().sessions() as db:
        agent = _load(db, agent_id)
        token = agent_store.issue_token(agent)
        db.commit()
    return jsonify(agent_id=agent_id, token=token), 201


@bp.get("/agents/<agent_id>/token")
def softphone_token(agent_id):
    """A Twilio access token for the browser softphone; identity is what <Client> dials."""
    require_agent_or_admin(agent_id)
    settings = _rt().settings
    with _rt().sessions() as db:
        _load(db, agent_id)
    token = AccessToken(settings.twilio_account_sid, settings.twilio_api_key, settings.twilio_api_secret,
                        identity=agent_id, ttl=3600)
    token.add_grant(VoiceGrant(outgoing_application_sid=settings.twilio_twiml_app_sid, incoming_allow=True))
    return jsonify(identity=agent_id, token=token.to_jwt())


@bp.get("/agents/<agent_id>/events")
def agent_events(agent_id):
    """Server-Sent Events: status, offer (with the screen pop), offer_canceled, connected, ended."""
    require_agent_or_admin(agent_id)
    rt = _rt()
    hub = current_app.extensions["callrouter_hub"]
    channel = rt.keys.agent_channel(agent_id)
    events = hub.subscribe(channel)             # before reading the state: nothing falls in between
    live = rt.agents.get(agent_id)
    if live is None:
        hub.unsubscribe(channel, events)
        abort(404, f"unknown agent {agent_id!r}")

    clock = current_app.extensions["callrouter_ivr"].clock    # the generator outlives the request context

    def offer_payload(payload: dict) -> dict:
        """The offer with its screen pop: Redis only (the CRM was asked ahead by the prefetch job),
        one round trip that also lets this agent read the call's context later."""
        sid = payload.get("call_sid", "")
        pop = context.screen_pop(rt.redis, rt.keys, sid, clock(), offered_to=agent_id)
        return {**payload, "screenpop": pop or build_pop({}, [], clock())}

    def stream():
        try:
            yield sse("status", {"status": live.get("status"), "since": float(live.get("since") or 0)})
            offer = rt.redis.hgetall(rt.keys.offer(live.get("offer", "")))
            if live.get("status") == "reserved" and offer.get(b"state") == b"pending":
                yield sse("offer", offer_payload({
                    "event": "offer", "reservation_id": live["offer"], "call_sid": offer[b"call"].decode(),
                    "queue": offer[b"queue"].decode(), "expires_at": float(offer[b"deadline"])}))
            while True:
                try:
                    data = events.get(timeout=KEEPALIVE_S)
                except queue.Empty:
                    yield ": keep-alive\n\n"
                    continue
                payload = json.loads(data)
                kind = payload.get("event", "message")
                yield sse(kind, offer_payload(payload) if kind == "offer" else payload)
        finally:
            hub.unsubscribe(channel, events)

    return Response(stream(), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
