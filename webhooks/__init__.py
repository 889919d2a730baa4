"""The HTTP face of callrouter: Twilio voice webhooks, the JSON API and the pages. Thin: each
handler parses the request, calls one method of a domain service and answers.

`http_app(services, config)` makes the Flask app around service objects already built; the app
factory that builds them is service.app.create_app.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from flask import Flask, current_app, g, jsonify, request
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from contactcenter.errors import Refusal

from . import (
    agents_api,
    api,
    calls_api,
    console,
    console_api,
    controls_api,
    metrics,
    people_api,
    people_pages,
    reports_api,
    rules_api,
    supervisor,
    voice,
    waiting_api,
    workspaces_api,
)
from .auth import check_csrf, client_address
from .deps import HUB, RETRY_AFTER_S, SERVICES, refusal_status
from .streams import EventHub


class NoSessionForTwilio(SecureCookieSessionInterface):
    """Twilio's webhooks carry no session cookie: skip decoding one on the hottest path."""

    def open_session(self, app, request):
        if request.path.startswith("/voice/"):
            return self.session_class()
        return super().open_session(app, request)


def http_app(services, config: dict | None = None) -> Flask:
    settings = services.settings
    # webhooks/static (the agent console's CSS and its bundle under dist/) is served at /static.
    app = Flask(__name__, instance_path=str(settings.instance_path.resolve()))
    app.session_interface = NoSessionForTwilio()
    if settings.proxy_hops:
        # the client's address (login throttling, the audit trail) from the trusted proxies' header
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops)
    app.config.update(SECRET_KEY=settings.secret_key, MAX_CONTENT_LENGTH=1 << 20,
                      # the agent console's session cookie (webhooks/console.py)
                      SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=(settings.public_url or "").startswith("https://"),
                      PERMANENT_SESSION_LIFETIME=timedelta(hours=12))
    app.config.update(config or {})
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app.extensions[SERVICES] = services
    app.extensions[HUB] = EventHub(services.listener, services.keys.agent_channels_pattern())
    for module in (voice, api, agents_api, calls_api, controls_api, console_api, console, metrics, reports_api,
                   supervisor, people_api, people_pages, waiting_api, rules_api):
        app.register_blueprint(module.bp)
    if settings.operator_token:         # unset: no operator API at all (its paths answer 404)
        app.register_blueprint(workspaces_api.bp)
    _answer_errors(app)
    return app


AUDITED_PAGES = ("/agent/log", "/supervisor/log", "/account")   # log in, log out, account changes


def _audit(response) -> None:
    """Every state-changing request by a person or a token goes to the audit trail (people/audit.py),
    sign-ins too (who tried, and how it was answered); Twilio's webhooks are not people's."""
    if request.method in ("GET", "HEAD", "OPTIONS") or not (
            request.path.startswith("/api/") or request.path.startswith(AUDITED_PAGES)):
        return
    who = g.get("principal")
    if who is not None:
        actor, role = who.name, who.kind
    elif request.endpoint in ("people_api.create_session", "console.login", "supervisor.login"):
        try:                            # whoever the sign-in named, however malformed its body
            body = request.get_json(silent=True) if request.is_json else request.form
        except RecursionError:
            body = None
        named = body.get("username") if hasattr(body, "get") else None
        actor, role = (named if isinstance(named, str) else "")[:64] or "-", "sign-in"
    elif (session := g.get("people_session")) is not None:
        actor, role = session.username, session.role
    else:
        return                          # nobody: refused before anything was done
    try:
        services = current_app.extensions[SERVICES]      # wall-clock time: a security record, not the ACD's clock
        services.audit.record(datetime.now(timezone.utc), actor=actor, role=role, action=request.endpoint or "-",
                              target="/".join(str(v) for v in (request.view_args or {}).values()),
                              method=request.method, path=request.path, status=response.status_code,
                              address=client_address())
    except Exception:                   # the trail never costs the request its answer
        current_app.logger.warning("audit entry not recorded", exc_info=True)


def _answer_errors(app: Flask) -> None:
    @app.before_request
    def csrf_for_cookie_sessions():
        # the session cookie: a change through /api needs the X-CSRF-Token header (auth.py); signing
        # in acts under no session, whatever cookie the browser still sends
        if request.path.startswith("/api/") and request.endpoint != "people_api.create_session":
            check_csrf()

    @app.after_request
    def audit(response):
        _audit(response)
        return response

    @app.errorhandler(Refusal)
    def refused(exc: Refusal):
        status, headers = refusal_status(exc)
        return jsonify(error=exc.reason, **exc.details), status, headers

    @app.errorhandler(SQLAlchemyError)
    def sql_away(exc: SQLAlchemyError):
        # pages and API calls that really need SQL; routing, offers and agents' actions do not
        app.logger.warning("SQL unavailable for %s: %s", request.path, type(exc).__name__)
        return jsonify(error="the database is away; try again shortly"), 503, {"Retry-After": str(RETRY_AFTER_S)}

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return jsonify(error=exc.description or exc.name), exc.code

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        # Never a bare 500 page: Twilio gets the fallback's safe message via its
        # own fallback URL, API clients get JSON. The traceback goes to the log.
        app.logger.exception("unhandled error")
        return jsonify(error="internal error"), 500
