"""The agent console at /agent: an agent signs in with their username and password (and the code
of their authenticator app, once they enrolled one), then one page drives the JSON API from the
browser (status, offers with the screen pop, the softphone, wrap-up, today's calls).

The session is server-side (people/sessions.py): the cookie holds a random id only, which
`webhooks.auth` accepts for the JSON API and the event stream. Logging out ends it everywhere at
once; so do a password change, a new role, disabling the person and new agent credentials.
CSRF: the login form carries a signed form token; the logout form and the page's fetch() calls
carry the session's CSRF token (`X-CSRF-Token`, required by `webhooks.auth` for cookie changes).

Nothing here renders data as HTML: the templates only autoescape the agent's own name, and the
page's script builds every element with textContent.
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, jsonify, make_response, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from contactcenter.errors import Refusal

from .auth import COOKIE, csrf_ok, current_session
from .deps import now, refusal_status, services
from .signin import clear_cookie, login_form_ok, login_form_token, set_cookie, sign_in, sign_out

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


TWILIO_NOTICES = {
    "simulated": "Twilio is simulated here (twiliosim's REST stand-in at {url}): accepted calls ring the "
                 "simulator's phone for you, not this browser; end a talk with Leave call.",
    "unconfigured": "No Twilio account is set up (TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are unset): offers "
                    "arrive, but an accepted call cannot be connected to anyone. `make demo` runs the service "
                    "with a simulated Twilio.",
}


def twilio_notice() -> dict:
    """What the pages say about Twilio: {mode, text} (no text when Twilio is live)."""
    settings = services().settings
    mode = settings.twilio_mode
    text = TWILIO_NOTICES.get(mode)
    return {"mode": mode, "text": text.format(url=settings.twilio_api_url) if text else None}


@bp.after_request
def _headers(response):
    return page_headers(response, CSP)


@bp.errorhandler(HTTPException)
def _error(exc: HTTPException):
    if request.path.startswith("/agent/current"):
        return jsonify(error=exc.description or exc.name), exc.code
    return render_template("console/error.html", code=exc.code, message=exc.description or exc.name), exc.code


def _login_page(message: str | None = None, status: int = 200, username: str = "", headers=None):
    response = make_response(render_template("console/login.html", message=message, username=username[:64],
                                             csrf=login_form_token(), bye=request.args.get("bye") == "1"), status)
    response.headers.update(headers or {})
    if status == 401 and request.cookies.get(COOKIE):
        clear_cookie(response)            # a dead session's cookie goes with the page that says so
    return response


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
    session = current_session()
    if session is None:
        if request.cookies.get(COOKIE):
            return _login_page("Your session has ended. Please sign in again.", 401)
        return _login_page()
    if session.role != "agent":
        return _login_page(f"You are signed in as a {session.role}; the agent console is for agents. "
                           "Signing in here ends that session.", 403)
    agent = services().sign_ins.profile(session.agent_id)
    if agent is None:
        return _login_page("Your account is no longer tied to an agent; ask your administrator.", 403)
    boot = {"agent": {"id": agent.id, "name": agent.name, "timezone": agent.timezone}, "csrf": session.csrf,
            "sounds": url_for("static", filename="dist/sounds/"), "twilio": twilio_notice(),
            "break_reasons": list(services().cc.break_reasons)}
    return render_template("console/agent.html", agent=agent, boot=boot, csrf=session.csrf,
                           bundle_version=_bundle_version())


@bp.post("/login")
def login():
    if not login_form_ok(request.form.get("csrf")):
        return _login_page("The sign-in form had expired. Please try again.", 403)
    username, password = (request.form.get("username") or "").strip(), request.form.get("password") or ""
    if not username or not password:
        return _login_page("Enter your username and your password.", 400, username)
    sign_out()                                      # whatever session this browser had ends here
    try:
        raw, _ = sign_in(username, password, request.form.get("otp"), roles=("agent",))
    except Refusal as exc:
        status, headers = refusal_status(exc)
        return _login_page(exc.reason[:1].upper() + exc.reason[1:] + ".", status, username, headers)
    response = redirect(url_for("console.console"), 303)
    set_cookie(response, raw)
    return response


@bp.post("/logout")
def logout():
    session = current_session()
    if session is not None and not csrf_ok(request.form.get("csrf")):
        return render_template("console/error.html", code=403,
                               message="The logout form had expired; reload the console and try again."), 403
    if session is not None and session.role == "agent" and session.agent_id:
        # Logging out of the console stops offers; an agent on a call keeps it (409) until it ends.
        services().acd.set_status(session.agent_id, "offline", now())
    sign_out()
    response = redirect(url_for("console.console", bye=1), 303)
    clear_cookie(response)
    return response


@bp.get("/current")
def current():
    """The console's own view of what the agent is doing, for a page (re)loaded mid-call:
    {"status", "call": {"call_sid", "queue", "answered_at"} or null}."""
    session = current_session()
    if session is None or session.role != "agent" or not session.agent_id:
        return jsonify(error="not signed in as an agent"), 401
    return jsonify(services().board.agent_now(session.agent_id))
