"""The HTTP face of callrouter: Twilio voice webhooks and the JSON API.

`create_app(config=None)` builds the app the flaskr way. Settings come from
the environment (CONTRACT.md); `config` overrides them for tests:

    create_app({"SETTINGS": settings, "CLOCK": lambda: fixed_now})
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from flask import Flask, jsonify, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import HTTPException

from ivr.calls import IvrCalls
from store import runtime as runtime_mod
from store.settings import from_env

from .auth import check_csrf


class NoSessionForTwilio(SecureCookieSessionInterface):
    """Twilio's webhooks carry no session cookie: skip decoding one on the hottest path."""

    def open_session(self, app, request):
        if request.path.startswith("/voice/"):
            return self.session_class()
        return super().open_session(app, request)


def create_app(config: dict | None = None) -> Flask:
    config = dict(config or {})
    settings = config.pop("SETTINGS", None) or from_env()
    # webhooks/static (the agent console's CSS and its bundle under dist/) is served at /static.
    app = Flask(__name__, instance_path=str(settings.instance_path.resolve()))
    app.session_interface = NoSessionForTwilio()
    app.config.update(SECRET_KEY=settings.secret_key, MAX_CONTENT_LENGTH=1 << 20,
                      # the agent console's session cookie (webhooks/console.py)
                      SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=(settings.public_url or "").startswith("https://"),
                      PERMANENT_SESSION_LIFETIME=timedelta(hours=12))
    app.config.update(config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    rt = runtime_mod.build(settings, cc=app.config.get("CONTACT_CENTER"), redis_client=app.config.get("REDIS"))
    runtime_mod.install(rt)
    clock = app.config.get("CLOCK") or (lambda: datetime.now(timezone.utc))
    app.extensions["callrouter"] = rt
    app.extensions["callrouter_ivr"] = IvrCalls(
        rt.cc, rt.calls, lookup_contact=rt.lookup_contact,
        call_ended=lambda sid, extra: rt.jobs.enqueue("ivr.records.sync_call_record", sid, extra,
                                                       job_timeout=60, result_ttl=600),
        clock=clock, acd=rt.acd)

    from . import agents_api, api, calls_api, cli, console, console_api, metrics, reports_api, voice
    from . import supervisor
    from .streams import EventHub
    app.extensions["callrouter_hub"] = EventHub(rt.redis, rt.keys.agent_channels_pattern())
    app.register_blueprint(voice.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(agents_api.bp)
    app.register_blueprint(calls_api.bp)
    app.register_blueprint(console_api.bp)
    app.register_blueprint(console.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(reports_api.bp)
    app.register_blueprint(supervisor.bp)
    cli.register(app)

    @app.before_request
    def csrf_for_cookie_sessions():
        # the agent console's cookie: a change through /api needs the X-CSRF-Token header (auth.py)
        if request.path.startswith("/api/"):
            check_csrf()

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return jsonify(error=exc.description or exc.name), exc.code

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        # Never a bare 500 page: Twilio gets the fallback's safe message via its
        # own fallback URL, API clients get JSON. The traceback goes to the log.
        app.logger.exception("unhandled error")
        return jsonify(error="internal error"), 500

    return app
