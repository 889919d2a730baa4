"""A person's own account page (/account: password, second factor with its QR code, sessions) and
the admin's audit trail page (/audit). Server-rendered forms, no script: every change posts a form
carrying the session's CSRF token and answers with the page again."""
from __future__ import annotations

import functools
from datetime import datetime, timezone

from flask import Blueprint, abort, redirect, render_template, request, url_for

from contactcenter.errors import Refusal

from .auth import csrf_ok, current_session
from .console import page_headers
from .deps import refusal_status, services
from .signin import clear_cookie, sign_out
from .supervisor import CSP, gate

bp = Blueprint("people_pages", __name__)


@bp.after_request
def _headers(response):
    return page_headers(response, CSP)


@bp.app_template_filter("utc_time")
def utc_time(epoch: float) -> str:
    """A session's time as people read it: 2026-12-05 06:40 UTC."""
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _home(session) -> str:
    return url_for("console.console" if session.role == "agent" else "supervisor.login_form")


def signed_in_form(handler):
    """A form of a person's own account: signed in (else to a sign-in page), the session's CSRF
    token checked (403 otherwise); the handler gets the session."""
    @functools.wraps(handler)
    def checked(**view_args):
        session = current_session()
        if session is None:
            return redirect(url_for("supervisor.login_form"), 303)
        if request.method == "POST" and not csrf_ok(request.form.get("csrf")):
            abort(403, "the form had expired; reload the page and try again")
        return handler(session, **view_args)
    return checked


def _signed_out(session):
    """Back to the sign-in page, the cookie gone (the person's sessions have ended)."""
    response = redirect(_home(session), 303)
    clear_cookie(response)
    return response


def _account_page(session, message: str | None = None, error: str | None = None, enrol: dict | None = None,
                  status: int = 200):
    rt = services()
    layout = "console/base.html" if session.role == "agent" else "supervisor/base.html"
    return render_template("people/account.html", layout=layout, active="account", csrf=session.csrf,
                           role=session.role, username=session.username, user=rt.accounts.get(session.username),
                           sessions=rt.people_sessions.of(session.username), current=session.id,
                           message=message, error=error, enrol=enrol), status


@bp.get("/account")
@signed_in_form
def account(session):
    return _account_page(session)


@bp.post("/account/password")
@signed_in_form
def change_password(session):
    try:
        services().accounts.change_own_password(session.username, request.form.get("current"),
                                                request.form.get("new"))
    except Refusal as exc:
        return _account_page(session, error=exc.reason, status=refusal_status(exc)[0])
    return _signed_out(session)      # every session of theirs has ended, this one too: sign in again


@bp.post("/account/totp")
@signed_in_form
def begin_totp(session):
    return _account_page(session, enrol=services().accounts.totp_begin(session.username))


@bp.post("/account/totp/confirm")
@signed_in_form
def confirm_totp(session):
    try:
        services().accounts.totp_confirm(session.username, request.form.get("otp"))
    except Refusal as exc:
        return _account_page(session, error=exc.reason, status=400)
    return _account_page(session, message="Your authenticator app is set up: sign-ins ask for its code from now on.")


@bp.post("/account/sessions/<session_id>/end")
@signed_in_form
def end_session(session, session_id):
    if session_id == session.id:
        sign_out()
        return _signed_out(session)
    ended = services().people_sessions.end(session_id[:64], username=session.username)
    return _account_page(session, message="That session has ended." if ended else None,
                         error=None if ended else "No such session of yours.")


@bp.get("/audit")
def audit():
    session, refusal = gate("audit", roles=("admin",))
    if refusal is not None:
        return refusal
    args = request.args
    try:
        found = services().audit.search(args.get("from"), args.get("to"), args.get("actor"), args.get("action"),
                                        args.get("limit") or 100, args.get("before"))
        error = None
    except Refusal as exc:
        found, error = {"entries": [], "next": None}, exc.reason
    form = {k: args.get(k, "")[:64] for k in ("from", "to", "actor", "action")}
    return render_template("people/audit.html", active="audit", csrf=session.csrf, role=session.role,
                           username=session.username, found=found, form=form, error=error), 400 if error else 200
