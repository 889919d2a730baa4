"""Signing people in and out over HTTP, shared by the JSON API (`/api/sessions`) and the pages'
login forms (/agent, /supervisor): the session cookie and the login form's CSRF token.

The cookie `callrouter_session` carries a random id and nothing else (HttpOnly, SameSite=Lax,
Secure behind https, as long as the session's absolute lifetime); what it stands for lives in Redis
(people/sessions.py). A login form carries a token signed with SECRET_KEY (an hour's validity): no
state is kept for someone who only looked at the form.
"""
from __future__ import annotations

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from contactcenter.errors import NotAllowed

from .auth import COOKIE, client_address, current_session
from .deps import services

FORM_MAX_AGE_S = 3600


def _forms() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="callrouter-login-form")


def login_form_token() -> str:
    return _forms().dumps("login")


def login_form_ok(sent: object) -> bool:
    if not isinstance(sent, str) or not sent or len(sent) > 200:
        return False
    try:
        return _forms().loads(sent, max_age=FORM_MAX_AGE_S) == "login"
    except BadSignature:
        return False


def sign_in(username: object, password: object, otp: object, roles: tuple[str, ...] | None = None):
    """(the cookie's value, the session) for a right username/password/code, or a Refusal (401, 429).
    `roles`: who may sign in here (a page for agents, one for supervisors); others are refused with
    403 and no session is left behind."""
    raw, session = services().accounts.sign_in(username, password, otp, client_address(),
                                                request.headers.get("User-Agent", ""))
    if roles is not None and session.role not in roles:
        services().people_sessions.end(session.id)
        where = "/agent" if session.role == "agent" else "/supervisor"
        raise NotAllowed(f"this page is not for the {session.role} role: sign in at {where}", where=where)
    return raw, session


def set_cookie(response, raw: str) -> None:
    settings = services().settings
    response.set_cookie(COOKIE, raw, max_age=settings.session_absolute_s, httponly=True, samesite="Lax",
                        secure=(settings.public_url or "").startswith("https://") or request.is_secure, path="/")


def clear_cookie(response) -> None:
    response.delete_cookie(COOKIE, path="/")


def sign_out() -> bool:
    """End this request's session; whether there was one alive."""
    session = current_session()
    return session is not None and services().people_sessions.end(session.id)
