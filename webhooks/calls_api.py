"""Offers and calls through the JSON API: accept or reject a reservation, end
wrap-up with a disposition and notes, read a call's screen pop (CONTRACT.md, "JSON API"), and list
past calls (`GET /api/calls?from&to&queue&agent&outcome&limit&cursor`, admin: acd/history.py)."""
from __future__ import annotations

from flask import Blueprint, abort, jsonify, request

from .auth import principal, require_supervisor
from .deps import now, services

bp = Blueprint("calls_api", __name__, url_prefix="/api")


@bp.get("/calls")
def history():
    require_supervisor()
    args = request.args
    return jsonify(services().history.page(args.get("from"), args.get("to"), queue=args.get("queue"),
                                           agent=args.get("agent"), outcome=args.get("outcome"),
                                           limit=args.get("limit"), cursor=args.get("cursor")))


@bp.post("/reservations/<rid>/accept")
def accept(rid):
    services().acd.accept_for(rid[:64], principal().may_act_for, now())
    return jsonify(reservation_id=rid, status="accepted")


@bp.post("/reservations/<rid>/reject")
def reject(rid):
    services().acd.reject_for(rid[:64], principal().may_act_for, now())
    return jsonify(reservation_id=rid, status="rejected")


@bp.post("/calls/<call_sid>/wrapup")
def wrapup(call_sid):
    who = principal()                       # 401 before anything else, the body included
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, "the body must be a JSON object")
    return jsonify(services().wrapups.wrap_up(call_sid[:64], who.may_act_for, body.get("disposition"),
                                              body.get("notes"), now()))


@bp.get("/calls/<call_sid>/context")
def call_context(call_sid):
    """The screen pop of a call: the admin, or an agent the call was offered to."""
    who = principal()
    return jsonify(services().screenpops.for_viewer(call_sid[:64], who.kind in ("admin", "supervisor"), who.agent_id))
