"""The supervisor's pages: the live board at /supervisor, the reports at /reports and, for admins,
the audit trail at /audit.

Supervisors and admins sign in at /supervisor/login with their username and password (and the code
of their authenticator app, once enrolled); the session is server-side (people/sessions.py) and its
cookie holds a random id only, which `webhooks.auth` accepts for the JSON API and the event streams,
so the page's fetch() calls and its `EventSource('/api/stats/stream')` need no header. A browser
holds one session at a time: signing in here ends an agent's console session, and the other way.

CSRF as in the agent console (console.py): a signed token in the login form; the session's token in
the logout form and in the `X-CSRF-Token` header of the page's changes (`webhooks.auth.check_csrf`).

Nothing here renders data as HTML: the templates autoescape the few server values they hold, and
the pages' scripts (console/src/supervisor.js, reports.js) build every element with textContent.
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, make_response, redirect, render_template, request, url_for
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from contactcenter.errors import Refusal
from ivr import diagram
from store.models import CALL_OUTCOMES
from store.reports import GROUPINGS

from .auth import COOKIE, csrf_ok, current_session
from .console import page_headers, twilio_notice
from .deps import refusal_status, services
from .signin import clear_cookie, login_form_ok, login_form_token, set_cookie, sign_in, sign_out

bp = Blueprint("supervisor", __name__)
DIST = Path(__file__).resolve().parent / "static" / "dist"
# The pages load only their own files and talk to this service, and the board's softphone (to listen,
# whisper and barge) to Twilio, as the agent console's does (webhooks/console.py).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "media-src 'self' blob: data:; connect-src 'self' https://*.twilio.com wss://*.twilio.com; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# where a login may go next
PAGES = {"board": "/supervisor", "reports": "/reports", "calls": "/calls", "flows": "/flows", "audit": "/audit"}
SUPERVISING = ("supervisor", "admin")



@bp.after_request
def _headers(response):
    return page_headers(response, CSP)


@bp.errorhandler(HTTPException)
def _error(exc: HTTPException):
    return render_template("supervisor/error.html", code=exc.code,
                           message=exc.description or exc.name), exc.code


def _bundle_version(name: str) -> str | None:
    try:
        return str(int((DIST / name).stat().st_mtime))
    except OSError:
        return None


def _known_page(name: str) -> str:
    """Where a login may go next: one of PAGES, the board unless the form names another."""
    return name if name in PAGES else "board"


def _login_page(message: str | None = None, status: int = 200, next_page: str = "board", username: str = "",
                headers=None):
    response = make_response(render_template(
        "supervisor/login.html", message=message, csrf=login_form_token(), next_page=_known_page(next_page),
        username=username[:64], bye=request.args.get("bye") == "1"), status)
    response.headers.update(headers or {})
    if status == 401 and request.cookies.get(COOKIE):
        clear_cookie(response)
    return response


def gate(next_page: str, roles: tuple[str, ...] = SUPERVISING):
    """(the session, None) when the browser holds a session of one of `roles`; otherwise (None, the
    page to answer: the login form, or 403 for a person whose role may not see the page)."""
    session = current_session()
    if session is None:
        if request.cookies.get(COOKIE):
            return None, _login_page("Your session has ended. Please sign in again.", 401, next_page)
        return None, _login_page(next_page=next_page)
    if session.role not in roles:
        if session.role == "agent":
            return None, _login_page("You are signed in to the agent console, which cannot open the supervisor's "
                                     "pages. Signing in here ends the agent's session.", 403, next_page)
        return None, (render_template("supervisor/error.html", code=403, active=None,
                                      message=f"This page is for {' and '.join(roles)}s only."), 403)
    return session, None


def page_boot(session) -> dict:
    return {"csrf": session.csrf, "timezone": services().cc.timezone, "today": services().board.today().isoformat(),
            "role": session.role, "username": session.username, "twilio": twilio_notice()}


def _report_form(args, today: str) -> dict:
    """The reports form as the query asks for it; what it leaves out is today's day report."""
    return {"by": args.get("by") if args.get("by") in GROUPINGS else "day",
            "from": args.get("from") or today, "to": args.get("to") or today,
            "queue": args.get("queue") or "", "agent": args.get("agent") or ""}


def page(template: str, session, **values):
    """A supervisor page with what every one of them shows (the nav by role, the CSRF token)."""
    boot = page_boot(session)
    return render_template(template, boot=boot, csrf=session.csrf, role=session.role,
                           username=session.username, **values)


@bp.get("/supervisor")
def board():
    session, refusal = gate("board")
    if refusal is not None:
        return refusal
    return page("supervisor/board.html", session, active="board",
                bundle_version=_bundle_version("supervisor.js"), css_version=_bundle_version("supervisor.css"))


@bp.get("/supervisor/")
def board_slash():
    return redirect(url_for("supervisor.board"), 308)


@bp.get("/supervisor/login")
def login_form():
    session = current_session()
    if session is not None and session.role in SUPERVISING:
        return redirect(PAGES.get(request.args.get("next", ""), PAGES["board"]), 303)
    return _login_page(next_page=request.args.get("next", "board"))


@bp.post("/supervisor/login")
def login():
    next_page = _known_page(request.form.get("next", "board"))
    if not login_form_ok(request.form.get("csrf")):
        return _login_page("The sign-in form had expired. Please try again.", 403, next_page)
    username, password = (request.form.get("username") or "").strip(), request.form.get("password") or ""
    if not username or not password:
        return _login_page("Enter your username and your password.", 400, next_page, username)
    sign_out()                                  # an agent's console session in this browser ends here
    try:
        raw, session = sign_in(username, password, request.form.get("otp"), roles=SUPERVISING)
    except Refusal as exc:
        status, headers = refusal_status(exc)
        return _login_page(exc.reason[:1].upper() + exc.reason[1:] + ".", status, next_page, username, headers)
    if next_page == "audit" and session.role != "admin":
        next_page = "board"
    response = redirect(PAGES[next_page], 303)
    set_cookie(response, raw)
    return response


@bp.post("/supervisor/logout")
def logout():
    if current_session() is not None and not csrf_ok(request.form.get("csrf")):
        return render_template("supervisor/error.html", code=403,
                               message="The logout form had expired; reload the page and try again."), 403
    sign_out()
    response = redirect(url_for("supervisor.login_form", bye=1), 303)
    clear_cookie(response)
    return response


@bp.get("/reports")
def reports():
    session, refusal = gate("reports")
    if refusal is not None:
        return refusal
    form, choices = _report_form(request.args, services().board.today().isoformat()), services().reports.choices()
    return page("supervisor/reports.html", session, active="reports", form=form,
                form_args={k: v for k, v in form.items() if v},   # the CSV link: same query + csv
                groupings=GROUPINGS, queues=choices["queues"], agents=choices["agents"],
                bundle_version=_bundle_version("reports.js"))


@bp.get("/calls")
def calls():
    """The call search: past calls by number, contact, agent, queue, outcome and days; each call's
    timeline and recording (webhooks/calls_api.py serves both to the page's script)."""
    session, refusal = gate("calls")
    if refusal is not None:
        return refusal
    choices = services().reports.choices()
    return page("supervisor/calls.html", session, active="calls", queues=choices["queues"], agents=choices["agents"],
                outcomes=CALL_OUTCOMES, today=services().board.today().isoformat(),
                bundle_version=_bundle_version("calls.js"))


@bp.get("/flows")
def flows():
    """Each IVR flow of the config as a picture, with today's callers through each node and where they
    hung up (admins: the flows are theirs to change)."""
    session, refusal = gate("flows", roles=("admin",))
    if refusal is not None:
        return refusal
    cc, reports = services().cc, services().reports
    pictures = [{"name": name, "start": flow.start, "numbers": [n for n, f in cc.numbers.items() if f == name],
                 "svg": Markup(diagram.svg(flow, cc, reports.flow_counts(name)))}     # built escaped
                for name, flow in cc.flows.items()]
    return page("supervisor/flows.html", session, active="flows", flows=pictures)
