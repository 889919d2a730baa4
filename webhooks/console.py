"""The agent console at /agent: log in with the agent id and token, then one page
that drives the JSON API from the browser (status, offers with the screen pop,
the softphone, wrap-up, today's calls).

The agent's token is kept in Flask's signed session cookie (HttpOnly,
SameSite=Lax), which `webhooks.auth` accepts for the JSON API and the event
stream; the token is checked again on every request, so issuing new
credentials ends every console session of that agent. CSRF: the login and
logout forms carry a per-session token as a hidden field; the page sends the
session's token in the `X-CSRF-Token` header of its fetch() calls, which
`webhooks.auth.principal` requires for cookie-authenticated non-GET requests.

Nothing here renders data as HTML: the templates only autoescape the agent's
own name, and the page's script builds every element with textContent.
"""
from __future__ import annotations

import hmac
import secrets
from pathlib import Path

from flask import Blueprint, jsonify, redirect, render_template, request, session, url_for
from werkzeug.exceptions import HTTPException

from store.models import Agent

from .auth import csrf_ok, new_csrf_token
from .deps import now, services

bp = Blueprint("console", __name__, url_prefix="/agent")
BUNDLE = Path(__file__).resolve().parent / "static" / "dist" / "agent.js"
# The page loads only its own files; the softphone talks to Twilio (signalling over
# WebSocket, call-quality events over HTTPS). Media flows over WebRTC, which CSP does not govern.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "media-src 'self' blob: data:; connect-src 'self' https://*.twilio.com wss://*.twilio.com; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")



def page_headers(response, csp: str):
    """The headers of a console page (agent or supervisor): its CSP, no framing, no caching."""
    response.headers.setdefault("Content-Security-Policy", csp)
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"      # pages carry the CSRF token
    return response


@bp.after_request
def _headers(response):
    return page_headers(response, CSP)


@bp.errorhandler(HTTPException)
def _error(exc: HTTPException):
    if request.path.startswith("/agent/current"):
        return jsonify(error=exc.description or exc.name), exc.code
    return render_template("console/error.html", code=exc.code, message=exc.description or exc.name), exc.code


def _signed_in_agent() -> Agent | None:
    """The agent of the session cookie, if its token is still valid."""
    return services().sign_ins.agent(session.get("agent_id"), session.get("token"))


def login_csrf_ok() -> bool:
    """Whether the login form carries this session's login token (agent console and supervisor);
    a stale one is dropped, so the next form gets a fresh one."""
    sent = request.form.get("csrf", "")
    expected = session.get("login_csrf")
    if sent and isinstance(expected, str) and hmac.compare_digest(sent.encode(), expected.encode()):
        return True
    session.pop("login_csrf", None)
    return False


def start_session(**values: str) -> None:
    """A fresh session holding `values`: nothing from before the login survives."""
    session.clear()
    session.permanent = True
    session.update(values)
    new_csrf_token()


def _login_page(message: str | None = None, status: int = 200, agent_id: str = ""):
    if not isinstance(session.get("login_csrf"), str):
        session["login_csrf"] = secrets.token_urlsafe(32)
    return render_template("console/login.html", message=message, agent_id=agent_id,
                           csrf=session["login_csrf"], bye=request.args.get("bye") == "1"), status


def _session_ended_page():
    """The login page for a cookie whose credentials were revoked or replaced; the cookie goes."""
    session.clear()
    return _login_page("Your session has ended: your token was replaced or your agent removed. "
                       "Please log in again.", 401)


def _bundle_version() -> str | None:
    try:
        return str(int(BUNDLE.stat().st_mtime))
    except OSError:
        return None


@bp.get("/")
def slash():
    return redirect(url_for("console.console"), 308)


@bp.get("")
def console():
    agent = _signed_in_agent()
    if agent is None:
        return _session_ended_page() if session.get("token") else _login_page()
    csrf = session.get("csrf") or new_csrf_token()
    boot = {"agent": {"id": agent.id, "name": agent.name, "timezone": agent.timezone}, "csrf": csrf,
            "sounds": url_for("static", filename="dist/sounds/")}
    return render_template("console/agent.html", agent=agent, boot=boot, csrf=csrf,
                           bundle_version=_bundle_version())


@bp.post("/login")
def login():
    if not login_csrf_ok():
        return _login_page("The login form had expired. Please try again.", 403)
    agent_id, token = (request.form.get("agent_id") or "").strip(), (request.form.get("token") or "").strip()
    if not agent_id or not token:
        return _login_page("Enter your agent id and your token.", 400, agent_id[:64])
    if not services().sign_ins.is_agent(agent_id, token):
        return _login_page("Unknown agent or wrong token.", 401, agent_id[:64])
    start_session(agent_id=agent_id, token=token)
    return redirect(url_for("console.console"), 303)


@bp.post("/logout")
def logout():
    if not csrf_ok(request.form.get("csrf")):
        return render_template("console/error.html", code=403,
                               message="The logout form had expired; reload the console and try again."), 403
    agent = _signed_in_agent()
    if agent is not None:
        # Logging out of the console stops offers; an agent on a call keeps it (409) until it ends.
        services().acd.set_status(agent.id, "offline", now())
    session.clear()
    return redirect(url_for("console.console", bye=1), 303)


@bp.get("/current")
def current():
    """The console's own view of what the agent is doing, for a page (re)loaded mid-call:
    {"status", "call": {"call_sid", "queue", "answered_at"} or null}."""
    agent = _signed_in_agent()
    if agent is None:
        return jsonify(error="not logged in"), 401
    return jsonify(services().board.agent_now(agent.id))
