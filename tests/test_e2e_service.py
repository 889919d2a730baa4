"""End to end: the real service (`python -m service.serve`: gunicorn + rq worker,
real Redis, SQLite) against the Twilio simulator, as a caller would use it."""
from __future__ import annotations

import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from store.db import make_engine, make_session_factory
from store.records import get_call_record
from tests.conftest import E2E_REDIS_URL as REDIS_URL
from tests.live_service import agents_on_break, live_service, point_number, simulated_twilio
from twiliosim import CallerScript, Hangup, Press, RecordMessage, Simulator, Speak, talked_with

REPO = Path(__file__).resolve().parent.parent
TOKEN = "e2e-auth-token-" + "x" * 16
SID = "AC" + "e" * 32
DEMO_NUMBER = "+15005550006"


class Service:
    def __init__(self, url: str, database_url: str, log: Path):
        self.url = url
        self.database_url = database_url
        self.log = log
        self.engine = make_engine(database_url)
        self.sessions = make_session_factory(self.engine)

    def record(self, sid: str, until=lambda rec: rec is not None, timeout: float = 15.0):
        """The call record once the worker has written it (polls, bounded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.sessions() as session:
                rec = get_call_record(session, sid)
                if rec is not None and until(rec):
                    return rec
            time.sleep(0.1)
        pytest.fail(f"no call record for {sid} after {timeout} s; service log:\n{self.log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def sim():
    """Twilio for this module: the simulator and its REST API stand-in (TWILIO_API_URL)."""
    with simulated_twilio(SID, TOKEN, time_scale=0.02, transcription_delay=1) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def service(tmp_path_factory, sim):
    tmp = tmp_path_factory.mktemp("e2e")

    def adjust(config):
        config["queues"]["sales"]["offer_timeout_s"] = 2       # the timeout test need not wait 15 s

    with live_service(tmp, account_sid=SID, auth_token=TOKEN, admin_token="e2e-admin", api_url=sim.rest_url,
                      redis_url=REDIS_URL, adjust_config=adjust) as (url, log, config):
        svc = Service(url, f"sqlite:///{tmp / 'instance' / 'callrouter.db'}", log)
        point_number(sim, DEMO_NUMBER, url)
        agents_on_break(url, config, "e2e-admin")
        yield svc
        svc.engine.dispose()


def run(call, timeout=30):
    assert call.join(timeout), f"call still live: {call.transcript[-5:]}"
    assert not call.events("webhook_error"), call.events("webhook_error")
    assert not call.events("simulator_error"), call.events("simulator_error")
    return call


def test_walk_the_menu_by_keypad_into_the_queue(service, sim):
    call = run(sim.dial(DEMO_NUMBER, "+14155550100", CallerScript(inputs=[Press("2")], patience=3)))
    said = call.said()
    assert said[:4] == ["Hello Dana, thanks for calling Acme.",
                        said[1], "Connecting you to technical support.", "You are number 1 in line."]
    assert said[1].startswith("For billing, press 1")
    assert [e["queue"] for e in call.events("enqueue")] == ["tech"]
    assert call.events("dequeue")[0]["result"] == "hangup"
    assert service.record(call.sid).outcome == "abandoned"


def test_walk_the_menu_by_speech_after_a_miss(service, sim):
    call = run(sim.dial(DEMO_NUMBER, "+12125550123",
                        CallerScript(inputs=[Speak("um, what?"), Speak("Billing, please.")], patience=2)))
    said = call.said()
    assert said[0] == "Hello there, thanks for calling Acme."
    assert said[2] == "Sorry, I didn't get that."
    assert "Connecting you to billing." in said
    assert call.events("input") == [{**call.events("input")[0], "speech": "um, what?"},
                                    {**call.events("input")[1], "speech": "Billing, please."}]
    rec = service.record(call.sid)
    assert rec.queue == "billing" and [i["kind"] for i in rec.ivr_inputs] == ["speech", "speech"]


def test_a_caller_who_hangs_up_in_the_ivr_is_recorded(service, sim):
    call = run(sim.dial(DEMO_NUMBER, "+12125550124", CallerScript(inputs=[Hangup(after=1)])))
    assert call.events("ended")[0]["by"] == "caller"
    rec = service.record(call.sid)
    assert rec.outcome == "ivr_hangup"
    assert rec.ivr_path == ["welcome", "open_check", "menu"]


def test_voicemail_with_transcription(service, sim):
    message = RecordMessage("This is Sam, invoice 42 is wrong, call me back.", duration=6, hangup=True)
    call = run(sim.dial(DEMO_NUMBER, "+12125550125", CallerScript(inputs=[Press("9")], message=message)))
    assert call.events("recorded")
    rec = service.record(call.sid, until=lambda r: r.voicemail_transcript is not None)
    assert rec.outcome == "voicemail" and rec.voicemail_transcript == message.text
    assert rec.recording_url.startswith(f"{sim.rest_url}/2010-04-01/Accounts/{SID}/Recordings/RE")


def test_a_simulator_with_the_wrong_token_is_rejected(service):
    forger = Simulator(SID, "not-the-auth-token", time_scale=0.02)
    point_number(forger, DEMO_NUMBER, service.url)
    call = forger.dial(DEMO_NUMBER, "+12125550126", CallerScript(inputs=[Press("1")]))
    assert call.join(10)
    assert call.rejected_by_service
    errors = call.events("webhook_error")
    assert [e["status"] for e in errors] == [403, 403]          # the voice URL, then the fallback
    assert call.said() == ["We are sorry, an application error has occurred. Goodbye."]
    forger.shutdown()


def test_cli_prints_the_transcript_and_reports_a_forged_signature(service):
    base = [sys.executable, "-m", "twiliosim", "call", "--url", f"{service.url}/voice/incoming",
            "--to", DEMO_NUMBER, "--account-sid", SID, "--time-scale", "0.02", "--patience", "2"]
    ok = subprocess.run(base + ["--auth-token", TOKEN, "--press", "7", "--say", "sales"], cwd=REPO,
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    lines = ok.stdout.splitlines()
    assert any("say" in line and "Sorry, I didn't get that." in line for line in lines)
    assert any("enqueue" in line and "queue=sales" in line for line in lines)
    forged = subprocess.run(base + ["--auth-token", "wrong"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert forged.returncode == 3
    assert "rejected the request signature (403)" in forged.stderr


class EventStream:
    """An agent's SSE stream read in a thread, as the browser console reads it."""

    def __init__(self, url: str, token: str):
        import http.client
        import queue
        import threading
        from urllib.parse import urlsplit
        parts = urlsplit(url)
        self.events: "queue.Queue[tuple[str, dict]]" = queue.Queue()
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self.conn.request("GET", parts.path, headers={"Authorization": f"Bearer {token}"})
        self.response = self.conn.getresponse()
        assert self.response.status == 200, self.response.read()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        import json
        kind = None
        try:
            while line := self.response.readline():
                line = line.decode().rstrip("\r\n")
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind:
                    self.events.put((kind, json.loads(line[6:])))
        except (OSError, ValueError, AttributeError):
            pass                                   # closed by close()

    def next(self, kind: str, timeout: float = 15) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                got, data = self.events.get(timeout=max(0.05, deadline - time.monotonic()))
            except Exception:  # noqa: BLE001 - queue.Empty
                break
            if got == kind:
                return data
        pytest.fail(f"no {kind!r} event within {timeout} s")

    def close(self):
        import socket
        try:
            self.conn.sock.shutdown(socket.SHUT_RDWR)    # the reader is blocked on it: wake it now
        except OSError:
            pass
        self.conn.close()


@contextmanager
def agent_at_desk(service, agent_id: str):
    """An agent with a fresh token and their event stream open; back on break afterwards."""
    admin = {"Authorization": "Bearer e2e-admin"}
    token = requests.post(f"{service.url}/api/agents/{agent_id}/credentials", headers=admin, timeout=5).json()["token"]
    stream = EventStream(f"{service.url}/api/agents/{agent_id}/events", token)
    try:
        yield {"Authorization": f"Bearer {token}"}, stream
    finally:
        requests.post(f"{service.url}/api/agents/{agent_id}/status", json={"status": "break"}, headers=admin,
                      timeout=5)
        stream.close()


def test_an_agent_takes_the_call_through_their_softphone_and_wraps_up(service, sim):
    sim.softphone("bob", answer_after=1, talk_for=None)
    with agent_at_desk(service, "bob") as (bob, stream):
        assert stream.next("status")["status"] == "break"
        assert requests.post(f"{service.url}/api/agents/bob/status", json={"status": "available"},
                             headers=bob, timeout=5).json() == {"status": "available"}
        call = sim.dial(DEMO_NUMBER, "+14155550100", CallerScript(inputs=[Press("2")], patience=3000, talk_for=40))
        offer = stream.next("offer")
        assert offer["call_sid"] == call.sid and offer["queue"] == "tech"
        assert offer["screenpop"]["contact"]["name"] == "Dana Reyes"
        assert offer["screenpop"]["caller"]["national"] == "(415) 555-0100"
        assert "Pressed 2 (support)" in offer["screenpop"]["journey"]
        accepted = requests.post(f"{service.url}/api/reservations/{offer['reservation_id']}/accept",
                                 headers=bob, timeout=10)
        assert accepted.status_code == 200, accepted.text
        assert stream.next("connected")["call_sid"] == call.sid
        assert stream.next("ended")["call_sid"] == call.sid
        run(call)
        # the REST redirect may reach the caller in the queue or still hearing "Connecting you…"
        assert call.events("api_redirect")[0]["url"].endswith(f"/voice/connect?rid={offer['reservation_id']}")
        assert talked_with(sim, call.sid) == ["client:bob"]
        assert sim.softphones["bob"].rings[-1]["outcome"] == "answered"
        wrap = requests.post(f"{service.url}/api/calls/{call.sid}/wrapup",
                             json={"disposition": "resolved", "notes": "Reset the router <b>twice</b>"},
                             headers=bob, timeout=5)
        assert wrap.status_code == 200 and wrap.json()["status"] == "available", wrap.text
        rec = service.record(call.sid, until=lambda r: r.disposition is not None)
        assert rec.outcome == "answered" and rec.agent_id == "bob" and rec.queue == "tech"
        assert rec.notes == "Reset the router <b>twice</b>" and rec.disposition == "resolved"


def test_an_offer_nobody_answers_times_out_and_the_caller_keeps_waiting(service, sim):
    with agent_at_desk(service, "chen") as (chen, stream):
        requests.post(f"{service.url}/api/agents/chen/status", json={"status": "available"}, headers=chen, timeout=5)
        call = sim.dial(DEMO_NUMBER, "+12125550199", CallerScript(inputs=[Press("3")], patience=2000))
        offer = stream.next("offer")
        assert offer["queue"] == "sales"
        # nobody accepts: the worker's ticker withdraws the offer after offer_timeout_s (2 s here)
        canceled = stream.next("offer_canceled", timeout=10)
        # not before its deadline, and at most the ticker's 1 s lag (+ delivery) after it
        assert offer["expires_at"] - 0.1 <= time.time() <= offer["expires_at"] + 1.5
        assert canceled["reservation_id"] == offer["reservation_id"] and canceled["reason"] == "timeout"
        assert not call.ended
        call.hang_up()
        run(call)
        assert service.record(call.sid).outcome == "abandoned"


def test_a_callback_keeps_its_place_and_the_customer_is_called_back(service, sim):
    sim.softphone("bob", answer_after=1, talk_for=30)
    customer = "+13125550142"
    sim.phone(customer, answer_after=2, script=CallerScript(talk_for=None))
    with agent_at_desk(service, "bob") as (bob, stream):
        # bob is on break: the caller waits, presses * and hangs up keeping their place
        first = run(sim.dial(DEMO_NUMBER, customer, CallerScript(inputs=[Press("2")], hold_keys=[(1, "*")],
                                                                   patience=3000)))
        assert "You keep your place in line." in first.said()[-1]
        later = sim.dial(DEMO_NUMBER, "+13125550199", CallerScript(inputs=[Press("2")], patience=3000))
        deadline = time.monotonic() + 10
        while not later.events("enqueue") and time.monotonic() < deadline:
            time.sleep(0.05)
        requests.post(f"{service.url}/api/agents/bob/status", json={"status": "available"}, headers=bob, timeout=5)
        offer = stream.next("offer")
        assert offer["call_sid"] == first.sid and offer["callback"] is True     # its original place
        accepted = requests.post(f"{service.url}/api/reservations/{offer['reservation_id']}/accept",
                                 headers=bob, timeout=10)
        assert accepted.status_code == 200, accepted.text
        assert stream.next("connected")["call_sid"] == first.sid
        assert stream.next("ended", timeout=20)["call_sid"] == first.sid
        leg = next(c for c in sim.calls.values() if c.direction == "outbound-api" and c.to == customer)
        assert leg.join(10)
        assert leg.said()[0] == "Hello, we are returning your call. Connecting you now."
        assert talked_with(sim, leg.sid) == ["client:bob"]
        rec = service.record(first.sid, until=lambda r: r.outcome == "answered")
        assert rec.agent_id == "bob" and rec.queue == "tech"
        later.hang_up()
        run(later)


def test_an_auto_accepting_agent_is_connected_without_answering_the_offer(service, sim):
    admin = {"Authorization": "Bearer e2e-admin"}
    patched = requests.patch(f"{service.url}/api/agents/chen", json={"auto_accept": True}, headers=admin, timeout=5)
    assert patched.status_code == 200 and patched.json()["agent"]["auto_accept"] is True
    sim.softphone("chen", answer_after=1, talk_for=20)
    try:
        assert requests.post(f"{service.url}/api/agents/chen/status", json={"status": "available"},
                             headers=admin, timeout=5).json()["status"] == "available"
        call = run(sim.dial(DEMO_NUMBER, "+12125550177", CallerScript(inputs=[Press("3")], patience=3000)))
        assert talked_with(sim, call.sid) == ["client:chen"]
        assert service.record(call.sid, until=lambda r: r.outcome == "answered").agent_id == "chen"
    finally:
        requests.patch(f"{service.url}/api/agents/chen", json={"auto_accept": False}, headers=admin, timeout=5)
        requests.post(f"{service.url}/api/agents/chen/status", json={"status": "break"}, headers=admin, timeout=5)
