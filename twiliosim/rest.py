"""The REST API stand-in: Twilio's `2010-04-01` Calls, Queues (and Members) and
Recordings resources over the Simulator, shaped so the official `twilio`
client parses them unmodified.

    sim = Simulator(account_sid, auth_token, time_scale=0.05)
    with RestServer(sim) as server:                 # TWILIO_API_URL = server.url
        client = twilio.rest.Client(account_sid, auth_token)
        client.api.base_url = server.url            # twilio 9.x: every v2010 URL is built from it
        # or: Client(account_sid, auth_token, http_client=redirecting_http_client(server.url))
        call = client.calls.create(to="client:alice", from_="+15005550006", twiml="<Response>…</Response>")

Base `{server.url}/2010-04-01/Accounts/{AccountSid}/…`, Basic auth AccountSid:AuthToken on
every route, form-encoded request bodies, JSON replies and Twilio's error body
(`code`, `message`, `more_info`, `status`). Each resource path answers with and
without the `.json` suffix. Recording media (`Recordings/{Sid}`, `.wav`, `.mp3`)
is silence of the recording's length and, as on Twilio by default, needs no auth.

Times: SimCall keeps `time.monotonic()` values; they are mapped to the wall clock
(real time). Durations (`duration`, `wait_time`, `average_wait_time`) are simulated
seconds, as in the webhooks the simulator sends.
"""
from __future__ import annotations

import hmac
import io
import json
import math
import re
import threading
import time
import wave
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from urllib.parse import urlencode

import phonenumbers
from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter
from werkzeug.serving import WSGIRequestHandler, make_server

from .outcomes import TERMINAL, CallEnded
from .sim import Simulator

API_VERSION = "2010-04-01"
TWILIO_API = "https://api.twilio.com"
MAX_QUEUE_SIZE = 5000          # Twilio's ceiling for a queue's MaxSize
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000

__all__ = ["API_VERSION", "RestServer", "make_app", "redirecting_http_client"]


# -- errors ------------------------------------------------------------------------------
class TwilioError(Exception):
    """An error reply in Twilio's shape."""

    def __init__(self, status: int, code: int, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> Response:
        body = {"code": self.code, "message": self.message,
                "more_info": f"https://www.twilio.com/docs/errors/{self.code}", "status": self.status}
        reply = Response(json.dumps(body), status=self.status, mimetype="application/json")
        if self.status == 401:
            reply.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
        return reply


def _not_found(path: str | None = None) -> TwilioError:
    return TwilioError(404, 20404, f"The requested resource {path or request.path} was not found")


def _bad(code: int, message: str) -> TwilioError:
    return TwilioError(400, code, message)


# -- formatting --------------------------------------------------------------------------
def rfc2822(wall: float | datetime | None) -> str | None:
    """`Mon, 23 Nov 2026 14:00:00 +0000`, as Twilio writes dates."""
    if wall is None:
        return None
    if not isinstance(wall, datetime):
        wall = datetime.fromtimestamp(wall, timezone.utc)
    return format_datetime(wall.astimezone(timezone.utc).replace(microsecond=0))


def formatted_number(number: str) -> str:
    """`to_formatted`/`from_formatted`: (415) 555-0199 for NANP numbers, +44 20 … elsewhere."""
    if not number or not number.startswith("+"):
        return number or ""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    style = phonenumbers.PhoneNumberFormat.NATIONAL if parsed.country_code == 1 \
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(parsed, style)


def _silent_wav(seconds: float) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\x00\x00" * int(8000 * max(0.0, seconds)))
    return out.getvalue()


def _silent_mp3(seconds: float) -> bytes:
    # MPEG-1 Layer III, 32 kbit/s, 44.1 kHz, mono: 104-byte frames of 1152 samples, all-zero side info.
    frame = b"\xff\xfb\x10\xc4" + b"\x00" * 100
    return frame * max(1, math.ceil(max(0.0, seconds) * 44100 / 1152))


class _SidConverter(BaseConverter):
    regex = r"[A-Za-z0-9]+"      # no dots: `CA….json` is the sid plus the suffix


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:   # one line per request is noise in tests
        pass


# -- the app -------------------------------------------------------------------------------
def make_app(sim: Simulator) -> Flask:
    """A Flask app answering Twilio's REST API (2010-04-01) for `sim`'s account."""
    app = Flask("twiliosim.rest")
    app.url_map.converters["sid"] = _SidConverter
    app.url_map.strict_slashes = False
    wall_offset = time.time() - time.monotonic()       # monotonic -> wall clock, captured once
    base = f"/{API_VERSION}/Accounts/<sid:account_sid>"
    media = re.compile(rf"^/{API_VERSION}/Accounts/[^/]+/Recordings/[A-Za-z0-9]+(\.wav|\.mp3)?$")
    account_path = re.compile(rf"^/{API_VERSION}/Accounts/([^/.]+)")

    def wall(mono: float | None) -> float | None:
        return None if mono is None else wall_offset + mono

    def account_uri(rest: str) -> str:
        return f"/{API_VERSION}/Accounts/{sim.account_sid}/{rest}"

    def route(rule: str, methods: tuple[str, ...], json_only: bool = False):
        """Register `rule` with the `.json` suffix and, unless json_only, without it."""
        def register(view):
            def endpoint(account_sid: str, **kwargs):      # the account was checked by authenticate()
                return view(**kwargs)
            app.add_url_rule(f"{base}/{rule}.json", view.__name__ + "_json", endpoint, methods=list(methods))
            if not json_only:
                app.add_url_rule(f"{base}/{rule}", view.__name__, endpoint, methods=list(methods))
            return view
        return register

    def reply(body: dict, status: int = 200) -> Response:
        return Response(json.dumps(body), status=status, mimetype="application/json")

    # -- auth and errors ------------------------------------------------------------------
    @app.before_request
    def authenticate():
        if request.method == "GET" and media.match(request.path):
            return None                        # media URLs are public unless the account enforces auth
        match = account_path.match(request.path)
        if match is None:
            return None                        # not under an account: routing answers 404
        auth = request.authorization
        username = (auth.username or "") if auth else ""
        password = (auth.password or "") if auth else ""
        if not (auth and auth.type == "basic"
                and hmac.compare_digest(username.encode(), match.group(1).encode())
                and hmac.compare_digest(username.encode(), sim.account_sid.encode())
                and hmac.compare_digest(password.encode(), sim.auth_token.encode())):
            return TwilioError(401, 20003, "Authenticate").response()
        return None

    @app.errorhandler(TwilioError)
    def twilio_error(exc: TwilioError):
        return exc.response()

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code == 404:
            return _not_found().response()
        if exc.code == 405:
            return TwilioError(405, 20004, "Method not allowed").response()
        return TwilioError(exc.code or 500, exc.code or 500, exc.description or exc.name).response()

    # -- parameters -------------------------------------------------------------------------
    def form(name: str, default: str | None = None) -> str | None:
        value = request.form.get(name)
        return default if value is None or value == "" else value

    def method_param(name: str = "Method") -> str:
        method = (form(name) or "POST").upper()
        if method not in ("GET", "POST"):
            raise _bad(20001, f"Invalid parameter: {name} must be GET or POST")
        return method

    def int_param(source, name: str, default: int, low: int, high: int) -> int:
        raw = source.get(name)
        if raw in (None, ""):
            return default
        try:
            value = int(raw)
        except ValueError:
            raise _bad(20001, f"Invalid parameter: {name} must be an integer") from None
        if not low <= value <= high:
            raise _bad(20001, f"Invalid parameter: {name} must be between {low} and {high}")
        return value

    def page(key: str, items: list, path: str, filters: dict[str, str] | None = None) -> Response:
        """A list reply with Twilio's paging fields; `Page`/`PageSize` select the slice."""
        size = int_param(request.args, "PageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        number = int_param(request.args, "Page", 0, 0, 10 ** 9)
        filters = {k: v for k, v in (filters or {}).items() if v}
        start = number * size
        chunk = items[start:start + size]

        def uri(n: int) -> str:
            return f"{account_uri(path)}?{urlencode({**filters, 'PageSize': size, 'Page': n})}"
        more = start + size < len(items)
        return reply({key: chunk, "first_page_uri": uri(0),
                      "next_page_uri": uri(number + 1) if more else None,
                      "previous_page_uri": uri(number - 1) if number > 0 else None,
                      "page": number, "page_size": size, "start": start,
                      "end": start + max(len(chunk), 1) - 1, "uri": uri(number)})

    # -- calls ------------------------------------------------------------------------------
    def call_json(call) -> dict:
        status = call.status if call.status != "initiated" else "queued"   # REST shows no `initiated`
        ended = call.status in TERMINAL
        started = None if status == "queued" else wall(call.created)
        answered, finished = call.answered_at, call.ended_at
        duration = None
        if ended:
            duration = str(round(sim.elapsed(answered, finished))) if answered and finished else "0"
        updated = max(x for x in (call.created, answered, finished) if x is not None)
        uri = account_uri(f"Calls/{call.sid}.json")
        stem = uri[:-len(".json")]
        return {
            "sid": call.sid, "account_sid": sim.account_sid,
            "parent_call_sid": call.parent.sid if call.parent is not None else None,
            "to": call.to, "to_formatted": formatted_number(call.to),
            "from": call.from_, "from_formatted": formatted_number(call.from_),
            "status": status, "direction": call.direction,
            "date_created": rfc2822(wall(call.created)), "date_updated": rfc2822(wall(updated)),
            "start_time": rfc2822(started), "end_time": rfc2822(wall(finished) if ended else None),
            "duration": duration, "price": None, "price_unit": "USD", "api_version": API_VERSION,
            "answered_by": None, "annotation": None, "caller_name": None, "forwarded_from": None,
            "group_sid": None, "phone_number_sid": None, "trunk_sid": None, "queue_time": "0",
            "uri": uri,
            "subresource_uris": {name: f"{stem}/{path}.json" for name, path in (
                ("feedback", "Feedback"), ("notifications", "Notifications"), ("recordings", "Recordings"),
                ("streams", "Streams"), ("payments", "Payments"), ("siprec", "Siprec"), ("events", "Events"),
                ("transcriptions", "Transcriptions"),
                ("user_defined_message_subscriptions", "UserDefinedMessageSubscriptions"),
                ("user_defined_messages", "UserDefinedMessages"))},
        }

    def find_call(sid: str):
        call = sim.calls.get(sid)
        if call is None:
            raise _not_found()
        return call

    @route("Calls", ("GET", "POST"))
    def calls():
        if request.method == "GET":
            wanted = {"To": request.args.get("To"), "From": request.args.get("From"),
                      "Status": request.args.get("Status"), "ParentCallSid": request.args.get("ParentCallSid")}
            with sim._lock:
                every = list(sim.calls.values())
            rows = [call_json(c) for c in every]
            for key, field in (("To", "to"), ("From", "from"), ("Status", "status"),
                               ("ParentCallSid", "parent_call_sid")):
                if wanted[key]:
                    rows = [r for r in rows if r[field] == wanted[key]]
            rows.reverse()                     # newest first, as Twilio lists calls
            return page("calls", rows, "Calls.json", wanted)
        to, from_ = form("To"), form("From")
        if not to:
            raise _bad(21201, "No 'To' number is specified")
        if not from_:
            raise _bad(21213, "No 'From' number is specified")
        if not (to.startswith(("client:", "sip:")) or re.fullmatch(r"\+?[0-9]{3,15}", to)):
            raise _bad(21211, f"Invalid 'To' Phone Number: {to}")
        url, twiml = form("Url"), form("Twiml")
        if not (url or twiml):
            raise _bad(21205, "Url parameter is required.")
        method = method_param()
        events: list[str] = []
        for value in request.form.getlist("StatusCallbackEvent"):
            events.extend(value.replace(",", " ").split())
        timeout = int_param(request.form, "Timeout", 60, 1, 600)
        call = sim.create_call(to, from_, url=url, twiml=None if url else twiml, method=method,
                               status_callback=form("StatusCallback"),
                               status_events=tuple(events) or ("completed",), timeout=timeout,
                               fallback_url=form("FallbackUrl"))
        body = call_json(call)
        # As on Twilio, the create reply shows the call as accepted, whatever the ringing thread did since.
        body.update(status="queued", start_time=None, end_time=None, duration=None,
                    date_updated=body["date_created"])
        return reply(body, 201)

    @route("Calls/<sid:sid>", ("GET", "POST"))
    def call_instance(sid: str):
        call = find_call(sid)
        if request.method == "GET":
            return reply(call_json(call))
        status = form("Status")
        if status is not None and status not in ("completed", "canceled"):
            raise _bad(20001, f"Invalid parameter: Status must be completed or canceled, not {status!r}")
        url, twiml = form("Url"), form("Twiml")
        method = method_param()
        not_live = _bad(21220, "Call is not in-progress. Cannot redirect.")
        if call.ended:
            raise not_live
        if status == "canceled" and call.status == "in-progress":
            return reply(call_json(call))      # `canceled` only ends queued or ringing calls
        if status is None and (url or twiml) and call.status != "in-progress":
            raise not_live
        if form("FallbackUrl"):
            call.fallback_url = form("FallbackUrl")
        if form("StatusCallback"):
            call.status_callback = form("StatusCallback")
        try:
            sim.update_call(sid, url=url, method=method, twiml=None if url else twiml, status=status)
        except KeyError:
            raise _not_found() from None
        except CallEnded:
            raise not_live from None
        return reply(call_json(call))

    # -- recordings -------------------------------------------------------------------------
    def recording_json(record: dict) -> dict:
        created: datetime = record["date_created"]
        uri = account_uri(f"Recordings/{record['sid']}.json")
        stem = uri[:-len(".json")]
        return {
            "sid": record["sid"], "account_sid": sim.account_sid, "call_sid": record["call_sid"],
            "conference_sid": None, "api_version": API_VERSION,
            "date_created": rfc2822(created), "date_updated": rfc2822(created),
            "start_time": rfc2822(created - timedelta(seconds=sim.real(record["duration"]))),
            "duration": str(record["duration"]), "price": None, "price_unit": "USD", "status": "completed",
            "channels": 1, "source": "RecordVerb", "error_code": None, "track": "both",
            "encryption_details": None, "uri": uri, "media_url": record["url"],
            "subresource_uris": {"add_on_results": f"{stem}/AddOnResults.json",
                                 "transcriptions": f"{stem}/Transcriptions.json"},
        }

    def recording_rows(call_sid: str | None = None) -> list[dict]:
        rows = [recording_json(r) for r in list(sim.recordings.values())
                if call_sid is None or r["call_sid"] == call_sid]
        rows.reverse()                         # newest first
        return rows

    @route("Recordings", ("GET",))
    def recordings():
        call_sid = request.args.get("CallSid")
        return page("recordings", recording_rows(call_sid), "Recordings.json", {"CallSid": call_sid})

    @route("Recordings/<sid:sid>", ("GET",), json_only=True)
    def recording_instance(sid: str):
        record = sim.recordings.get(sid)
        if record is None:
            raise _not_found()
        return reply(recording_json(record))

    @app.get(f"{base}/Recordings/<sid:sid>")
    @app.get(f"{base}/Recordings/<sid:sid>.wav")
    def recording_wav(account_sid: str, sid: str):
        record = sim.recordings.get(sid)
        if record is None or account_sid != sim.account_sid:
            raise _not_found()
        return Response(_silent_wav(record["duration"]), mimetype="audio/x-wav")

    @app.get(f"{base}/Recordings/<sid:sid>.mp3")
    def recording_mp3(account_sid: str, sid: str):
        record = sim.recordings.get(sid)
        if record is None or account_sid != sim.account_sid:
            raise _not_found()
        return Response(_silent_mp3(record["duration"]), mimetype="audio/mpeg")

    @route("Calls/<sid:call_sid>/Recordings", ("GET",))
    def call_recordings(call_sid: str):
        find_call(call_sid)
        return page("recordings", recording_rows(call_sid), f"Calls/{call_sid}/Recordings.json")

    # -- queues -------------------------------------------------------------------------------
    def queue_json(queue) -> dict:
        uri = account_uri(f"Queues/{queue.sid}.json")
        with queue.lock:
            size = len(queue.members)
        created = rfc2822(queue.created)
        return {"sid": queue.sid, "account_sid": sim.account_sid, "friendly_name": queue.name,
                "current_size": size, "max_size": queue.max_size, "average_wait_time": queue.average_wait(sim),
                "date_created": created, "date_updated": rfc2822(getattr(queue, "rest_updated", None)) or created,
                "uri": uri, "subresource_uris": {"members": uri[:-len(".json")] + "/Members.json"}}

    def find_queue(sid: str):
        queue = sim.queue_by_sid(sid)
        if queue is None:
            raise _not_found()
        return queue

    def friendly_name_param(required: bool) -> str | None:
        name = form("FriendlyName")
        if name is None:
            if required:
                raise _bad(20001, "Missing required parameter FriendlyName in the post body")
            return None
        if len(name) > 64:
            raise _bad(20002, "Invalid FriendlyName: it can be up to 64 characters long")
        return name

    @route("Queues", ("GET", "POST"))
    def queues():
        if request.method == "GET":
            with sim._lock:
                every = sorted(sim.queues.values(), key=lambda q: q.created)
            return page("queues", [queue_json(q) for q in every], "Queues.json")
        name = friendly_name_param(required=True)
        max_size = int_param(request.form, "MaxSize", 1000, 1, MAX_QUEUE_SIZE)
        with sim._lock:
            if sim.queue_named(name, create=False) is not None:
                raise _bad(20002, f"A Queue with FriendlyName {name!r} already exists")
            queue = sim.queue_named(name, create=True, max_size=max_size)
        return reply(queue_json(queue), 201)

    @route("Queues/<sid:sid>", ("GET", "POST"))
    def queue_instance(sid: str):
        queue = find_queue(sid)
        if request.method == "GET":
            return reply(queue_json(queue))
        name = friendly_name_param(required=False)
        max_size = int_param(request.form, "MaxSize", queue.max_size, 1, MAX_QUEUE_SIZE)
        with sim._lock:
            if name is not None and name != queue.name:
                if sim.queue_named(name, create=False) is not None:
                    raise _bad(20002, f"A Queue with FriendlyName {name!r} already exists")
                sim.queues.pop(queue.name, None)       # queues are keyed by name: re-key on rename
                queue.name = name
                sim.queues[name] = queue
            queue.max_size = max_size
            queue.rest_updated = time.time()
        return reply(queue_json(queue))

    def member_json(queue, call) -> dict | None:
        with queue.lock:
            if call not in queue.members:
                return None
            position = queue.members.index(call) + 1
            entered = queue.entered.get(call.sid)
        return {"call_sid": call.sid, "queue_sid": queue.sid, "position": position,
                "date_enqueued": rfc2822(wall(entered)), "wait_time": queue.wait_of(call, sim),
                "uri": account_uri(f"Queues/{queue.sid}/Members/{call.sid}.json")}

    @route("Queues/<sid:sid>/Members", ("GET",))
    def members(sid: str):
        queue = find_queue(sid)
        with queue.lock:
            every = list(queue.members)
        rows = [m for m in (member_json(queue, c) for c in every) if m is not None]
        return page("queue_members", rows, f"Queues/{sid}/Members.json")

    @route("Queues/<sid:sid>/Members/<sid:call_sid>", ("GET", "POST"))
    def member_instance(sid: str, call_sid: str):
        queue = find_queue(sid)
        member = queue.pick(call_sid)
        found = member_json(queue, member) if member is not None else None
        if found is None or member.ended:
            raise _not_found()
        if request.method == "GET":
            return reply(found)
        url = form("Url")
        if not url:
            raise _bad(21205, "Url parameter is required.")
        if sim.dequeue(queue.sid, member.sid, url, method_param()) is None:
            raise _not_found()
        return reply(found)

    return app


# -- serving -----------------------------------------------------------------------------------
class RestServer:
    """Serves `make_app(sim)` on 127.0.0.1 in a daemon thread; `url` is TWILIO_API_URL.

    On start, `sim.api_url` becomes the server URL (so recording URLs point here);
    on stop it goes back to what it was.
    """

    def __init__(self, sim: Simulator, port: int | None = None, host: str = "127.0.0.1"):
        self.sim = sim
        self.host = host
        self.port = port or 0
        self.app = make_app(sim)
        self._server = None
        self._thread: threading.Thread | None = None
        self._previous_api_url: str | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("RestServer is not running (call start() first)")
        return f"http://{self.host}:{self._server.server_port}"

    def start(self) -> "RestServer":
        if self._server is not None:
            return self
        self._server = make_server(self.host, self.port, self.app, threaded=True, request_handler=_QuietHandler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"twiliosim-rest-{self._server.server_port}", daemon=True)
        self._thread.start()
        self._previous_api_url = self.sim.api_url
        self.sim.api_url = self.url
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(5)
        if self._previous_api_url is not None:
            self.sim.api_url = self._previous_api_url

    def client(self, **kwargs):
        """An official `twilio.rest.Client` for the simulator's account, pointed at this server."""
        from twilio.rest import Client
        client = Client(self.sim.account_sid, self.sim.auth_token, **kwargs)
        client.api.base_url = self.url
        return client

    def __enter__(self) -> "RestServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def redirecting_http_client(base_url: str, **kwargs):
    """A `TwilioHttpClient` that sends `https://api.twilio.com/…` (any edge/region) to `base_url`.

    For code that cannot set `client.api.base_url`:
    `Client(sid, token, http_client=redirecting_http_client(os.environ["TWILIO_API_URL"]))`.
    Requests for other hosts go out unchanged.
    """
    from twilio.http.http_client import TwilioHttpClient

    target = base_url.rstrip("/")
    pattern = re.compile(r"^https://api(\.[A-Za-z0-9-]+)*\.twilio\.com(?=/|$)")

    class RedirectingHttpClient(TwilioHttpClient):
        base = target

        def request(self, method, url, *args, **kw):
            return super().request(method, pattern.sub(target, url, count=1), *args, **kw)

    return RedirectingHttpClient(**kwargs)
