"""Offers and calls through the JSON API: accept or reject a reservation, end
wrap-up with a disposition and notes, read a call's screen pop (CONTRACT.md, "JSON API")."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, request

from screenpop import context

from .auth import principal

bp = Blueprint("calls_api", __name__, url_prefix="/api")
MAX_NOTES = 10_000


def _rt():
    return current_app.extensions["callrouter"]


def _now():
    return current_app.extensions["callrouter_ivr"].clock()


def _offer(rid: str) -> dict:
    raw = _rt().redis.hgetall(_rt().keys.offer(rid[:64]))
    return {k.decode(): v.decode() for k, v in raw.items()}


def _agent_of_offer(rid: str) -> str:
    """The agent an offer is for; 404 unknown, 403 someone else's."""
    offer = _offer(rid)
    if not offer:
        abort(409, "the offer is gone")
    who = principal()
    if not who.may_act_for(offer["agent"]):
        abort(403, "this offer is for another agent")
    return offer["agent"]


@bp.post("/reservations/<rid>/accept")
def accept(rid):
    agent = _agent_of_offer(rid)
    code, message = _rt().acd.accept(rid, agent, _now())
    if code != 200:
        return jsonify(error=message), code
    return jsonify(reservation_id=rid, status="accepted")


@bp.post("/reservations/<rid>/reject")
def reject(rid):
    agent = _agent_of_offer(rid)
    if not _rt().acd.reject(rid, agent, _now()):
        abort(409, "the offer is gone")
    return jsonify(reservation_id=rid, status="rejected")


@bp.post("/calls/<call_sid>/wrapup")
def wrapup(call_sid):
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, "the body must be a JSON object")
    disposition, notes = body.get("disposition"), body.get("notes")
    if disposition is not None and (not isinstance(disposition, str) or len(disposition) > 64):
        abort(400, "disposition must be text of at most 64 characters")
    if notes is not None and not isinstance(notes, str):
        abort(400, "notes must be text")
    rt = _rt()
    agent = rt.redis.hget(rt.keys.call(call_sid[:64]), "agent")
    if agent is None:
        abort(404, "no agent call with that CallSid")
    agent = agent.decode()
    who = principal()
    if not who.may_act_for(agent):
        abort(403, "this call belongs to another agent")
    extra = {"agent_id": agent}
    if disposition is not None:
        extra["disposition"] = disposition
    if notes is not None:
        extra["notes"] = notes[:MAX_NOTES]
    rt.calls.apply(call_sid, [{"event": "wrapup", "agent": agent}],
                   {k: v for k, v in extra.items() if k != "agent_id"}, _now().timestamp())
    status = rt.acd.end_wrapup(agent, call_sid, _now())
    rt.jobs.enqueue("ivr.records.sync_call_record", call_sid, extra, job_timeout=60, result_ttl=600)
    current = rt.redis.hget(rt.keys.agent(agent), "status")
    return jsonify(call_sid=call_sid, agent=agent, status=status or (current.decode() if current else None))


@bp.get("/calls/<call_sid>/context")
def call_context(call_sid):
    """The screen pop of a call: the admin, or an agent the call was offered to."""
    who = principal()
    rt = _rt()
    sid = call_sid[:64]
    offered = context.offered_agents(rt.redis, rt.keys, sid)
    if offered is None:
        abort(404, "no call with that CallSid")
    if who.kind != "admin" and who.agent_id not in offered:
        abort(403, "this call was not offered to you")
    pop = context.screen_pop(rt.redis, rt.keys, sid, _now())
    if pop is None:
        abort(404, "no call with that CallSid")
    return jsonify(pop)
