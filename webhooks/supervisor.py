"""The supervisor's pages: the live board at /supervisor and the reports at /reports.

The supervisor logs in at /supervisor/login with the admin token (ADMIN_TOKEN, compared in
constant time). The token is kept in Flask's signed session cookie (HttpOnly, SameSite=Lax, 12 h),
which `webhooks.auth` accepts for the JSON API and the event streams like a bearer token, so the
page's fetch() calls and its `EventSource('/api/stats/stream')` need no header. Logging in here
replaces whatever session the browser had (an agent's console session too), and logging in to the
agent console replaces a supervisor's: a cookie holds one principal at a time.

CSRF as in the agent console (console.py): the login and logout forms carry a per-session token as
a hidden field; the page sends the session's token in the `X-CSRF-Token` header of its changes
(`webhooks.auth.check_csrf`).

Nothing here renders data as HTML: the templates autoescape the few server values they hold, and
the pages' scripts (console/src/supervisor.js, reports.js) build every element with textContent.
"""
from __future__ import annotations

import secrets
from pathlib import Path

from flask import Blueprint, redirect, render_template, request, session, url_for
from werkzeug.exceptions import HTTPException

from .auth import csrf_ok, new_csrf_token
from .console import login_csrf_ok, page_headers, start_session
from .deps import services

bp = Blueprint("supervisor", __name__)
DIST = Path(__file__).resolve().parent / "static" / "dist"
# The pages load only their own files and talk only to this service.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
PAGES = {"board": "/supervisor", "reports": "/reports"}     # where a login may go next
GROUPINGS = ("interval", "day", "queue", "agent")



@bp.after_request
def _headers(response):
    return page_headers(response, CSP)


@bp.errorhandler(HTTPException)
def _error(exc: HTTPException):
    return render_template("supervisor/error.html", code=exc.code,
                           message=exc.description or exc.name), exc.code


def _is_admin_session() -> bool:
    return services().sign_ins.is_admin_session(session.get("role"), session.get("token"))


def _bundle_version(name: str) -> str | None:
    try:
        return str(int((DIST / name).stat().st_mtime))
    except OSError:
        return None


def _known_page(name: str) -> str:
    """Where a login may go next: one of PAGES, the board unless the form names another."""
    return name if name in PAGES else "board"


def _login_page(message: str | None = None, status: int = 200, next_page: str = "board"):
    if not isinstance(session.get("login_csrf"), str):
        session["login_csrf"] = secrets.token_urlsafe(32)
    agent_session = isinstance(session.get("agent_id"), str) and bool(session.get("token"))
    return render_template("supervisor/login.html", message=message, csrf=session["login_csrf"],
                           next_page=_known_page(next_page),
                           bye=request.args.get("bye") == "1", agent_session=agent_session), status


def _gate(next_page: str):
    """None when the browser holds a supervisor session; otherwise the login page to answer."""
    if _is_admin_session():
        return None
    if session.get("role") == "admin":
        session.clear()               # ADMIN_TOKEN was changed since the login
        return _login_page("Your session has ended: the admin token was changed. Please log in again.", 401,
                           next_page)
    if isinstance(session.get("agent_id"), str) and session.get("token"):
        return _login_page("You are logged in to the agent console, which cannot open the supervisor's pages. "
                           "Logging in here with the admin token ends the agent's session.", 403, next_page)
    return _login_page(next_page=next_page)


def _page_boot() -> dict:
    csrf = session.get("csrf") or new_csrf_token()
    return {"csrf": csrf, "timezone": services().cc.timezone, "today": services().board.today().isoformat()}


def _report_form(args, today: str) -> dict:
    """The reports form as the query asks for it; what it leaves out is today's day report."""
    return {"by": args.get("by") if args.get("by") in GROUPINGS else "day",
            "from": args.get("from") or today, "to": args.get("to") or today,
            "queue": args.get("queue") or "", "agent": args.get("agent") or ""}


@bp.get("/supervisor")
def board():
    gate = _gate("board")
    if gate is not None:
        return gate
    boot = _page_boot()
    return render_template("supervisor/board.html", boot=boot, csrf=boot["csrf"], active="board",
                           bundle_version=_bundle_version("supervisor.js"),
                           css_version=_bundle_version("supervisor.css"))


@bp.get("/supervisor/")
def board_slash():
    return redirect(url_for("supervisor.board"), 308)


@bp.get("/supervisor/login")
def login_form():
    if _is_admin_session():
        return redirect(PAGES.get(request.args.get("next", ""), PAGES["board"]), 303)
    return _login_page(next_page=request.args.get("next", "board"))


@bp.post("/supervisor/login")
def login():
    next_page = _known_page(request.form.get("next", "board"))
    if not login_csrf_ok():
        return _login_page("The login form had expired. Please try again.", 403, next_page)
    token = (request.form.get("token") or "").strip()
    if not token:
        return _login_page("Enter the admin token.", 400, next_page)
    if not services().sign_ins.is_admin(token):
        return _login_page("Wrong admin token.", 401, next_page)
    start_session(role="admin", token=token)       # an agent's console session ends here
    return redirect(PAGES[next_page], 303)


@bp.post("/supervisor/logout")
def logout():
    if not csrf_ok(request.form.get("csrf")):
        return render_template("supervisor/error.html", code=403,
                               message="The logout form had expired; reload the page and try again."), 403
    session.clear()
    return redirect(url_for("supervisor.login_form", bye=1), 303)


@bp.get("/reports")
def reports():
    gate = _gate("reports")
    if gate is not None:
        return gate
    boot = _page_boot()
    form, choices = _report_form(request.args, boot["today"]), services().reports.choices()
    return render_template("supervisor/reports.html", boot=boot, csrf=boot["csrf"], active="reports", form=form,
                           form_args={k: v for k, v in form.items() if v},   # the CSV link: same query + csv
                           groupings=GROUPINGS, queues=choices["queues"], agents=choices["agents"],
                           bundle_version=_bundle_version("reports.js"))
