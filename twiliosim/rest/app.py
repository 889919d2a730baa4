"""The Flask app of the REST stand-in: URL rules under the account, Basic
auth, Twilio's error bodies, and the wiring that lets each resource module
(`calls.py`, `queues.py`, `recordings.py`, `conferences.py`) register its routes."""
from __future__ import annotations

import hmac
import re
import time

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter

from . import calls, conferences, queues, recordings
from .errors import TwilioError, method_not_allowed, not_found, unauthenticated
from .formats import API_VERSION
from .params import page_params, reply
from .serializers import AccountView, page_body

# Recording media is public unless the account enforces auth (Twilio's default): no credentials.
MEDIA = re.compile(rf"^/{API_VERSION}/Accounts/[^/]+/Recordings/[A-Za-z0-9]+(\.wav|\.mp3)?$")
ACCOUNT_PATH = re.compile(rf"^/{API_VERSION}/Accounts/([^/.]+)")
BASE = f"/{API_VERSION}/Accounts/<sid:account_sid>"


class SidConverter(BaseConverter):
    regex = r"[A-Za-z0-9]+"      # no dots: `CA….json` is the sid plus the suffix


class Api:
    """What a resource module needs to serve `sim`: route registration, the serializers'
    view of the account, and list replies."""

    def __init__(self, app: Flask, sim):
        self.app, self.sim = app, sim
        self.wall_offset = time.time() - time.monotonic()       # monotonic -> wall clock, captured once
        self.deleted_calls: set[str] = set()      # call records DELETEd over REST: gone from the API

    def view(self) -> AccountView:
        return AccountView(self.sim.account_sid, self.sim.time_scale, self.wall_offset, time.monotonic())

    def route(self, rule: str, methods: tuple[str, ...], json_only: bool = False):
        """Register `rule` under the account with the `.json` suffix and, unless json_only, without it."""
        def register(view):
            def endpoint(account_sid: str, **kwargs):      # the account was checked by authenticate()
                return view(**kwargs)
            self.app.add_url_rule(f"{BASE}/{rule}.json", view.__name__ + "_json", endpoint, methods=list(methods))
            if not json_only:
                self.app.add_url_rule(f"{BASE}/{rule}", view.__name__, endpoint, methods=list(methods))
            return view
        return register

    def media(self, rule: str):
        """A public GET route under the account that sees the account sid (recording media)."""
        return self.app.get(f"{BASE}/{rule}")

    def page(self, key: str, items: list, path: str, filters: dict[str, str] | None = None) -> Response:
        """A list reply; the request's `Page`/`PageSize` select the slice."""
        number, size = page_params()
        view = self.view()
        return reply(page_body(key, items, view.uri(path), number, size, filters or {}))


def authenticate(sim):
    """Basic auth as AccountSid:AuthToken on every account route; the URL's account must be it."""
    if request.method == "GET" and MEDIA.match(request.path):
        return None
    match = ACCOUNT_PATH.match(request.path)
    if match is None:
        return None                        # not under an account: routing answers 404
    auth = request.authorization
    username = (auth.username or "") if auth else ""
    password = (auth.password or "") if auth else ""
    if not (auth and auth.type == "basic"
            and hmac.compare_digest(username.encode(), match.group(1).encode())
            and hmac.compare_digest(username.encode(), sim.account_sid.encode())
            and hmac.compare_digest(password.encode(), sim.auth_token.encode())):
        return unauthenticated().response()
    if sim.rest_down:                      # an outage on Twilio's side, as a test asks for one
        return TwilioError(500, 20500, "An internal server error has occurred").response()
    return None


def http_error(exc: HTTPException):
    """Werkzeug's own errors (no route, wrong method) in Twilio's body."""
    if exc.code == 404:
        return not_found().response()
    if exc.code == 405:
        reply = method_not_allowed().response()
        allowed = getattr(exc, "valid_methods", None)
        if allowed:
            reply.headers["Allow"] = ", ".join(sorted(allowed))
        return reply
    return TwilioError(exc.code or 500, exc.code or 500, exc.description or exc.name).response()


def make_app(sim) -> Flask:
    """A Flask app answering Twilio's REST API (2010-04-01) for `sim`'s account."""
    app = Flask("twiliosim.rest")
    app.url_map.converters["sid"] = SidConverter
    app.url_map.strict_slashes = False
    app.before_request(lambda: authenticate(sim))
    app.register_error_handler(TwilioError, TwilioError.response)
    app.register_error_handler(HTTPException, http_error)
    api = Api(app, sim)
    calls.register(api)
    recordings.register(api)
    queues.register(api)
    conferences.register(api)
    return app
