"""A tiny TwiML web service for simulator tests.

Tests register what each path answers (a TwiML string, or a callable that
receives the recorded request), the server records every request it gets
(method, path, query, form, X-Twilio-Signature) and checks each signature
with the twilio library's RequestValidator, as a real service would.

    server = TwimlServer(auth_token).start()
    server.route("/voice", "<Response><Say>Hi</Say></Response>")
    server.route("/next", lambda req: f"<Response><Say>{req['form']['Digits']}</Say></Response>")
    ...
    server.stop(); assert not server.bad_signatures
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

from flask import Flask, Response, request
from twilio.request_validator import RequestValidator
from werkzeug.serving import make_server


class TwimlServer:
    def __init__(self, auth_token: str):
        self.validator = RequestValidator(auth_token)
        self.routes: dict[str, object] = {}
        self.requests: list[dict] = []
        self.bad_signatures: list[dict] = []
        self._lock = threading.Lock()
        self._srv = None
        self._thread: threading.Thread | None = None
        self.app = Flask(__name__)
        self.app.add_url_rule("/", "any", self._handle, defaults={"path": ""}, methods=["GET", "POST"])
        self.app.add_url_rule("/<path:path>", "any", self._handle, methods=["GET", "POST"])

    # -- setup -------------------------------------------------------------------
    def start(self) -> TwimlServer:
        self._srv = make_server("127.0.0.1", 0, self.app, threaded=True)
        # a short poll interval: shutdown() waits for it (0.5 s by default, per test)
        self._thread = threading.Thread(target=self._srv.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="twiml-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._srv is not None:
            self._srv.shutdown()
            self._srv.server_close()
            self._srv = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._srv.server_port}"

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, answer: str | Callable[[dict], object], status: int = 200,
              content_type: str = "text/xml", delay: float = 0.0) -> None:
        """What `path` answers: TwiML text, or fn(request record) -> str | Response | (body, status)."""
        self.routes[path] = (answer, status, content_type, delay)

    # -- what tests read -----------------------------------------------------------
    def to(self, path: str) -> list[dict]:
        with self._lock:
            return [r for r in self.requests if r["path"] == path]

    def wait_for(self, path: str, count: int = 1, timeout: float = 3.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.to(path)
            if len(found) >= count:
                return found
            time.sleep(0.01)
        return self.to(path)

    # -- serving -------------------------------------------------------------------
    def _handle(self, path: str):
        raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.full_path
        url = self.base + raw
        form = request.form.to_dict()
        signature = request.headers.get("X-Twilio-Signature", "")
        record = {"method": request.method, "path": "/" + path, "url": url, "query": request.args.to_dict(),
                  "form": form, "params": {**request.args.to_dict(), **form}, "signature": signature,
                  "at": time.monotonic()}
        valid = bool(signature) and self.validator.validate(url, form, signature)
        with self._lock:
            self.requests.append(record)
            if not valid:
                self.bad_signatures.append(record)
        entry = self.routes.get("/" + path)
        if entry is None:
            if "status" in path or "transcri" in path:
                return Response(status=204)          # status callbacks: 204, as a service answers them
            return Response("<Response><Say>no such route</Say></Response>", status=404, content_type="text/xml")
        answer, status, content_type, delay = entry
        if delay:
            time.sleep(delay)
        body = answer(record) if callable(answer) else answer
        if isinstance(body, Response):
            return body
        if isinstance(body, tuple):
            body, status = body
        return Response(body, status=status, content_type=content_type)
