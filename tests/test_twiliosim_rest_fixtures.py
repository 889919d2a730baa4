"""What the REST stand-in's test modules share: a fast Simulator, its RestServer,
an official `twilio` client pointed at it, a tiny TwiML app, and helpers.

The tests (test_twiliosim_rest_calls_are_created_updated_and_listed,
_rest_rejects_bad_requests_like_twilio, _rest_serves_queues_members_and_recordings)
drive twiliosim.rest with the official `twilio` client. This module holds no
tests itself. Everything runs on 127.0.0.1: the stand-in, and a tiny TwiML app the simulator
fetches `Url`s from. `time_scale=0.02`: a simulated second lasts 20 ms.
"""
from __future__ import annotations

import re
import threading
import time

import pytest
from flask import Flask, Response, request
from twilio.rest import Client
from werkzeug.serving import WSGIRequestHandler, make_server

from twiliosim import Simulator
from twiliosim.rest import RestServer

ACCOUNT_SID = "AC" + "2" * 32
AUTH_TOKEN = "rest-sim-auth-token-0123456789ab"
FROM = "+15005550006"
HI = '<Response><Say>hi</Say><Pause length="5"/></Response>'
LONG = '<Response><Say>hi</Say><Pause length="600"/></Response>'      # 12 s real: a call that stays live
ENQUEUE = '<Response><Enqueue waitUrl="">support</Enqueue></Response>'
RFC2822 = re.compile(r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$")


def wait_until(predicate, timeout: float = 5.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


class TwimlApp:
    """The service's part, reduced to canned TwiML per path; remembers every request."""

    def __init__(self):
        self.docs: dict[str, str] = {}
        self.requests: list[tuple[str, dict]] = []
        self._lock = threading.Lock()
        app = Flask("twiml-app")

        @app.route("/<path:name>", methods=["GET", "POST"])
        def serve(name):
            with self._lock:
                self.requests.append((name, dict(request.values)))
            if name.startswith("status"):
                return Response(status=204)
            return Response(self.docs.get(name, "<Response/>"), mimetype="text/xml")

        self._server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def got(self, name: str) -> list[dict]:
        with self._lock:
            return [params for path, params in self.requests if path == name]

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@pytest.fixture
def sim():
    simulator = Simulator(ACCOUNT_SID, AUTH_TOKEN, time_scale=0.02)
    yield simulator
    simulator.shutdown()


@pytest.fixture
def server(sim):
    with RestServer(sim) as running:
        yield running


@pytest.fixture
def client(server):
    twilio_client = Client(ACCOUNT_SID, AUTH_TOKEN)
    twilio_client.api.base_url = server.url
    return twilio_client


@pytest.fixture
def twiml():
    app = TwimlApp()
    yield app
    app.stop()


def api(server, path: str) -> str:
    return f"{server.url}/2010-04-01/Accounts/{ACCOUNT_SID}/{path}"


def ended(sim, sid: str, timeout: float = 5.0) -> bool:
    # SimCall.join() returns at once while a REST-created call rings (its thread starts on answer).
    return wait_until(lambda: sim.calls[sid].ended, timeout, what=f"call {sid} to end")


def events(sim, sid: str) -> list[str]:
    return [e["event"] for e in list(sim.calls[sid].transcript)]
