"""What the TwiML interpreter's test modules share: a tiny TwiML server that
records (and signature-checks) every request, a fast Simulator, and helpers
that route a document, dial it and read the status callbacks.

The interpreter's tests (test_twiliosim_say_play_pause_and_hangup_end_calls,
_gather_collects_keys_and_speech, _record_and_redirect_move_the_call_on,
_enqueue_holds_callers_until_dequeued, _dial_rings_numbers_and_clients,
_dial_queue_bridges_the_front_caller, _failing_webhooks_reach_the_fallback)
check it verb by verb and noun by noun against Twilio's semantics as
../shared/TWILIO-NOTES.md describes them. This module holds no tests itself."""
from __future__ import annotations

import time

import pytest

from tests.twiml_server import TwimlServer
from twiliosim import CallerScript, Simulator

TOKEN = "verbs-test-auth-token-0123456789ab"
ACCOUNT = "AC" + "7" * 32
NUMBER = "+15005550006"
AGENT_LINE = "+15005550007"
CALLER = "+14155550123"
JOIN = 5.0          # real seconds: a bound on every call in these modules


@pytest.fixture
def server():
    srv = TwimlServer(TOKEN).start()
    yield srv
    srv.stop()
    bad = [(r["method"], r["url"]) for r in srv.bad_signatures]
    assert not bad, f"requests with a wrong X-Twilio-Signature: {bad}"


@pytest.fixture
def sim(server):
    s = Simulator(ACCOUNT, TOKEN, time_scale=0.02, transcription_delay=1.0)
    yield s
    s.shutdown()
    s.wait_idle(2.0)


def R(body: str) -> str:
    return f"<Response>{body}</Response>"


def run(sim, server, twiml: str | None = None, script: CallerScript | None = None, path: str = "/voice",
        events=("completed",), fallback: str | None = None, wait: bool = True, number: str = NUMBER):
    """Route `twiml` at `path`, make it the number's voice URL, dial it and (by default) let the call end."""
    if twiml is not None:
        server.route(path, twiml)
    sim.number(number, voice_url=server.url(path), status_callback=server.url("/status"),
               fallback_url=fallback and server.url(fallback), status_events=events)
    call = sim.dial(number, from_=CALLER, script=script or CallerScript())
    if wait:
        assert call.join(JOIN), f"call did not end: {call.transcript[:25]}"
    return call


def statuses(server, call=None):
    found = [r["form"] for r in server.wait_for("/status", 1) if call is None or r["form"]["CallSid"] == call.sid]
    return sorted(found, key=lambda f: int(f["SequenceNumber"]))


def completed_callback(server, call):
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        done = [f for f in statuses(server, call) if f["CallStatus"] in ("completed", "busy", "no-answer",
                                                                          "canceled", "failed")]
        if done:
            return done[-1]
        time.sleep(0.01)
    raise AssertionError(f"no final status callback for {call.sid}")


def no_errors(call):
    bad = [e for e in call.transcript if e["event"] in ("webhook_error", "simulator_error")]
    assert not bad, bad
