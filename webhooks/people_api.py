"""People over the JSON API (CONTRACT v3, "People and sessions", "Audit"): sign in and out, list and
revoke sessions, manage accounts (admin), a person's own password and second factor, the audit
trail (admin). Thin: each handler checks who asks, calls one method of people/ and answers."""
from __future__ import annotations

from flask import Blueprint, abort, jsonify, request

from .auth import principal, require_admin, require_person
from .deps import services
from .signin import clear_cookie, set_cookie, sign_in, sign_out

bp = Blueprint("people_api", __name__, url_prefix="/api")


def _body() -> dict:
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        body = None
    if not isinstance(body, dict):
        abort(400, "the body must be a JSON object")
    return body


@bp.post("/sessions")
def create_session():
    body = _body()
    raw, session = sign_in(body.get("username"), body.get("password"), body.get("otp"))
    response = jsonify({"role": session.role, "csrf": session.csrf, "username": session.username,
                        **({"agent_id": session.agent_id} if session.agent_id else {})})
    set_cookie(response, raw)
    return response


@bp.delete("/sessions/current")
def end_current_session():
    require_person()
    sign_out()
    response = jsonify(ended="current")
    clear_cookie(response)
    return response


@bp.get("/sessions")
def list_sessions():
    """An admin sees everyone's sessions; a person their own (`current` marks this one)."""
    who = principal()
    rt = services()
    if who.kind == "admin":
        found = rt.people_sessions.everyone(rt.accounts.usernames())
    elif who.via_session:
        found = rt.people_sessions.of(who.name)
    else:
        abort(403, "an agent token has no sessions")
    return jsonify(sessions=[{**s.public(), "current": s.id == who.session_id} for s in found])


@bp.delete("/sessions/<session_id>")
def end_session(session_id):
    who = principal()
    if who.kind != "admin" and not who.via_session:
        abort(403, "an agent token has no sessions")
    owner = None if who.kind == "admin" else who.name
    if not services().people_sessions.end(session_id[:64], username=owner):
        abort(404, "no such session")
    return jsonify(ended=session_id[:64])


@bp.get("/users")
def list_users():
    require_admin()
    return jsonify(users=services().accounts.list())


@bp.post("/users")
def create_user():
    require_admin()
    body = _body()
    user = services().accounts.create(body.get("username"), body.get("password"), body.get("role"),
                                      body.get("agent_id"), bool(body.get("disabled", False)))
    return jsonify(user=user), 201


@bp.get("/users/<username>")
def get_user(username):
    who = principal()
    if who.kind != "admin" and who.name != username:
        abort(403, "admin only (or your own account)")
    return jsonify(user=services().accounts.get(username[:64]))


@bp.patch("/users/<username>")
def patch_user(username):
    require_admin()
    return jsonify(user=services().accounts.update(username[:64], _body()))


@bp.post("/account/password")
def change_password():
    """A person changes their own password; all their sessions end (this one too: sign in again)."""
    who = require_person()
    body = _body()
    services().accounts.change_own_password(who.name, body.get("current"), body.get("new"))
    response = jsonify(changed=True)
    clear_cookie(response)
    return response


@bp.post("/account/totp")
def begin_totp():
    """A person starts setting up an authenticator app: the secret, its URI and a QR code."""
    who = require_person()
    return jsonify(services().accounts.totp_begin(who.name))


@bp.post("/account/totp/confirm")
def confirm_totp():
    who = require_person()
    return jsonify(user=services().accounts.totp_confirm(who.name, _body().get("otp")))


@bp.get("/audit")
def audit():
    require_admin()
    args = request.args
    return jsonify(services().audit.search(args.get("from"), args.get("to"), args.get("actor"), args.get("action"),
                                           args.get("limit"), args.get("before")))
