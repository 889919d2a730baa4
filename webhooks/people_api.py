"""People over the JSON API (CONTRACT v3, "People and sessions", "Audit"): sign in and out, list and
revoke sessions, manage accounts (admin), a person's own password and second factor, the audit
trail (admin). Thin: each handler checks who asks, calls one method of people/ and answers."""
from __future__ import annotations

from flask import Blueprint, abort, jsonify

from .auth import require_person
from .deps import services
from .openapi import operation
from .people_schemas import (
    PATH,
    AuditPage,
    AuditQuery,
    Ended,
    OtpConfirm,
    PasswordChange,
    PasswordChanged,
    SessionList,
    SessionStarted,
    SignIn,
    TotpBegun,
    UserAnswer,
    UserChange,
    UserList,
    UserNew,
)
from .signin import clear_cookie, set_cookie, sign_in, sign_out

bp = Blueprint("people_api", __name__, url_prefix="/api")


@bp.post("/sessions")
@operation(summary="Sign in: a session cookie (HttpOnly, a random id only) and its CSRF token", auth="anyone",
           body=SignIn, answers={200: SessionStarted}, errors=(401, 403, 429, 503))
def create_session(body: SignIn):
    raw, session = sign_in(body.username, body.password, body.otp)
    response = jsonify({"role": session.role, "csrf": session.csrf, "username": session.username,
                        **({"agent_id": session.agent_id} if session.agent_id else {})})
    set_cookie(response, raw)
    return response


@bp.delete("/sessions/current")
@operation(summary="Log out: this session ends everywhere at once", auth="signed_in", answers={200: Ended})
def end_current_session():
    require_person()
    sign_out()
    response = jsonify(ended="current")
    clear_cookie(response)
    return response


@bp.get("/sessions")
@operation(summary="Sessions: everyone's for an admin, a person's own otherwise", auth="signed_in",
           answers={200: SessionList}, errors=(503,))
def list_sessions(who):
    """An admin sees everyone's sessions; a person their own (`current` marks this one)."""
    rt = services()
    if who.kind == "admin":
        found = rt.people_sessions.everyone(rt.accounts.usernames())
    elif who.via_session:
        found = rt.people_sessions.of(who.name)
    else:
        abort(403, "an agent token has no sessions")
    return jsonify(sessions=[{**s.public(), "current": s.id == who.session_id} for s in found])


@bp.delete("/sessions/<session_id>")
@operation(summary="Revoke a session (an admin: anyone's; a person: their own)", auth="signed_in", path=PATH,
           answers={200: Ended})
def end_session(session_id, who):
    if who.kind != "admin" and not who.via_session:
        abort(403, "an agent token has no sessions")
    owner = None if who.kind == "admin" else who.name
    if not services().people_sessions.end(session_id[:64], username=owner):
        abort(404, "no such session")
    return jsonify(ended=session_id[:64])


@bp.get("/users")
@operation(summary="The people who sign in", auth="admin", answers={200: UserList}, errors=(503,))
def list_users():
    return jsonify(users=services().accounts.list())


@bp.post("/users")
@operation(summary="Create a person (an agent user is tied to an existing agent)", auth="admin", body=UserNew,
           answers={201: UserAnswer}, errors=(409, 503))
def create_user(body: UserNew):
    user = services().accounts.create(body.username, body.password, body.role, body.agent_id, body.disabled)
    return jsonify(user=user), 201


@bp.get("/users/<username>")
@operation(summary="A person (an admin: anyone; a person: themselves)", auth="signed_in", path=PATH,
           answers={200: UserAnswer}, errors=(503,))
def get_user(username, who):
    if who.kind != "admin" and who.name != username:
        abort(403, "admin only (or your own account)")
    return jsonify(user=services().accounts.get(username[:64]))


@bp.patch("/users/<username>")
@operation(summary="Change a person; their sessions end", auth="admin", path=PATH, body=UserChange,
           answers={200: UserAnswer}, errors=(409, 503))
def patch_user(username, body: UserChange):
    return jsonify(user=services().accounts.update(username[:64], body.model_dump(exclude_unset=True)))


@bp.post("/account/password")
@operation(summary="Change your own password; all your sessions end", auth="signed_in", body=PasswordChange,
           answers={200: PasswordChanged}, errors=(503,))
def change_password(body: PasswordChange):
    """A person changes their own password; all their sessions end (this one too: sign in again)."""
    who = require_person()
    services().accounts.change_own_password(who.name, body.current, body.new)
    response = jsonify(changed=True)
    clear_cookie(response)
    return response


@bp.post("/account/totp")
@operation(summary="Set up an authenticator app: its key, URI and QR code", auth="signed_in",
           answers={200: TotpBegun}, errors=(503,))
def begin_totp():
    """A person starts setting up an authenticator app: the secret, its URI and a QR code."""
    who = require_person()
    return jsonify(services().accounts.totp_begin(who.name))


@bp.post("/account/totp/confirm")
@operation(summary="Turn the authenticator app on with its first code", auth="signed_in", body=OtpConfirm,
           answers={200: UserAnswer}, errors=(409, 503))
def confirm_totp(body: OtpConfirm):
    who = require_person()
    return jsonify(user=services().accounts.totp_confirm(who.name, body.otp))


@bp.get("/audit")
@operation(summary="The audit trail, newest first", auth="admin", query=AuditQuery, answers={200: AuditPage},
           errors=(503,))
def audit(query: AuditQuery):
    until = f"{query.until}T23:59:59.999999" if query.until else None
    return jsonify(services().audit.search(query.since, until, query.actor, query.action, query.limit,
                                           query.before))
