"""The REST API stand-in (twiliosim.rest) driven by the official `twilio` client.

Everything runs on 127.0.0.1: the stand-in, and a tiny TwiML app the simulator
fetches `Url`s from. `time_scale=0.02`: a simulated second lasts 20 ms.
"""
from __future__ import annotations

import re
import threading
import time

import pytest
import requests
from flask import Flask, Response, request
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client
from werkzeug.serving import WSGIRequestHandler, make_server

from twiliosim import CallerScript, RecordMessage, Simulator
from twiliosim.rest import RestServer, make_app, redirecting_http_client

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


# -- calls -----------------------------------------------------------------------------------------
def test_create_call_to_softphone_with_inline_twiml(sim, server, client):
    alice = sim.softphone("alice", answer_after=0.1)
    call = client.calls.create(to="client:alice", from_=FROM, twiml=HI)
    assert call.sid.startswith("CA") and len(call.sid) == 34 and call.sid in sim.calls
    assert call.status == "queued" and call.start_time is None
    assert (call.to, call._from, call.direction) == ("client:alice", FROM, "outbound-api")
    assert call.account_sid == ACCOUNT_SID and call.api_version == "2010-04-01"
    assert call.uri == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{call.sid}.json"
    assert call.date_created is not None and call.duration is None and call.end_time is None

    assert ended(sim, call.sid)
    fetched = client.calls(call.sid).fetch()
    assert fetched.status == "completed"
    assert fetched.duration is not None and int(fetched.duration) >= 5
    assert fetched.start_time is not None and fetched.end_time >= fetched.start_time
    assert sim.calls[call.sid].said() == ["hi"]
    assert alice.rings and alice.rings[0]["call_sid"] == call.sid and alice.rings[0]["outcome"] == "answered"
    assert [c.sid for c in client.calls.list()] == [call.sid]


def test_create_call_to_phone_with_url_fetch_list_and_complete(sim, server, client, twiml):
    sim.phone("+14155550199", answer_after=0.1)
    twiml.docs["greet"] = '<Response><Say>hello from the service</Say><Pause length="600"/></Response>'
    call = client.calls.create(to="+14155550199", from_=FROM, url=f"{twiml.url}/greet", method="GET",
                               status_callback=f"{twiml.url}/status",
                               status_callback_event=["initiated", "ringing", "answered", "completed"])
    assert call.to_formatted == "(415) 555-0199"
    wait_until(lambda: "pause" in events(sim, call.sid), what="the Url's TwiML to run")
    fetched = client.calls(call.sid).fetch()
    assert fetched.status == "in-progress"
    assert fetched.start_time is not None and fetched.end_time is None and fetched.duration is None
    (params,) = twiml.got("greet")
    assert params["CallSid"] == call.sid and params["Direction"] == "outbound-api"
    assert params["To"] == "+14155550199" and params["AccountSid"] == ACCOUNT_SID

    other = client.calls.create(to="client:nobody", from_=FROM, twiml=HI, timeout=5)
    listed = client.calls.list()
    assert [c.sid for c in listed] == [other.sid, call.sid]          # newest first
    assert [c.sid for c in client.calls.list(to="+14155550199")] == [call.sid]
    assert [c.sid for c in client.calls.list(status="in-progress")] == [call.sid]
    assert [c.sid for c in client.calls.list(page_size=1)] == [other.sid, call.sid]   # follows next_page_uri

    done = client.calls(call.sid).update(status="completed")
    assert done.sid == call.sid
    assert ended(sim, call.sid)
    fetched = client.calls(call.sid).fetch()
    assert fetched.status == "completed" and fetched.end_time is not None
    assert sim.calls[call.sid].ended_by == "api" and "api_hangup" in events(sim, call.sid)
    wait_until(lambda: len(twiml.got("status")) == 4, what="four status callbacks")
    assert [p["CallStatus"] for p in twiml.got("status")] == ["initiated", "ringing", "in-progress", "completed"]


def test_update_interrupts_the_running_verb_then_completed_ends_the_call(sim, server, client):
    sim.phone("+14155550199", answer_after=0.1)
    call = client.calls.create(to="+14155550199", from_=FROM, twiml=LONG)
    wait_until(lambda: "pause" in events(sim, call.sid), what="the long pause")
    started = time.monotonic()
    updated = client.calls(call.sid).update(
        twiml='<Response><Say>new instructions</Say><Pause length="600"/></Response>')
    assert updated.status == "in-progress"
    wait_until(lambda: "new instructions" in sim.calls[call.sid].said(), timeout=2, what="the new Say")
    assert time.monotonic() - started < 2          # the 600 s pause (12 s real) did not run out
    names = events(sim, call.sid)
    assert names[names.index("api_redirect") + 1] == "say"
    assert sim.calls[call.sid].transcript[names.index("api_redirect") + 1]["text"] == "new instructions"

    client.calls(call.sid).update(status="completed")
    assert ended(sim, call.sid)
    assert client.calls(call.sid).fetch().status == "completed"

    for change in ({"twiml": "<Response><Say>too late</Say></Response>"}, {"url": "http://127.0.0.1:9/x"},
                   {"status": "completed"}):
        with pytest.raises(TwilioRestException) as caught:
            client.calls(call.sid).update(**change)
        assert (caught.value.status, caught.value.code) == (400, 21220)
        assert "Call is not in-progress. Cannot redirect." in caught.value.msg


def test_canceled_ends_a_ringing_call_but_not_a_live_one(sim, server, client):
    sim.phone("+14155550177", answer_after=None)          # rings until the timeout
    ringing = client.calls.create(to="+14155550177", from_=FROM, twiml=HI)
    wait_until(lambda: client.calls(ringing.sid).fetch().status == "ringing", what="ringing")
    with pytest.raises(TwilioRestException) as caught:     # not answered yet: nothing to redirect
        client.calls(ringing.sid).update(twiml=HI)
    assert caught.value.code == 21220
    client.calls(ringing.sid).update(status="canceled")
    assert ended(sim, ringing.sid)
    assert client.calls(ringing.sid).fetch().status == "canceled"

    sim.phone("+14155550199", answer_after=0.1)
    live = client.calls.create(to="+14155550199", from_=FROM, twiml=LONG)
    wait_until(lambda: sim.calls[live.sid].status == "in-progress", what="answer")
    assert client.calls(live.sid).update(status="canceled").status == "in-progress"
    time.sleep(0.1)
    assert not sim.calls[live.sid].ended


def test_call_json_shape_paging_and_suffixes(sim, server, client):
    sim.softphone("alice", answer_after=0.1)
    call = client.calls.create(to="client:alice", from_=FROM, twiml=HI)
    auth = (ACCOUNT_SID, AUTH_TOKEN)
    for path in (f"Calls/{call.sid}.json", f"Calls/{call.sid}"):
        body = requests.get(api(server, path), auth=auth, timeout=5).json()
        assert body["sid"] == call.sid
    for key in ("price", "answered_by", "caller_name", "forwarded_from", "group_sid", "phone_number_sid",
                "trunk_sid", "annotation", "parent_call_sid"):
        assert key in body and body[key] is None
    assert body["queue_time"] == "0" and body["api_version"] == "2010-04-01"
    assert body["from"] == FROM and body["from_formatted"] == "(500) 555-0006"
    assert RFC2822.match(body["date_created"]) and RFC2822.match(body["date_updated"])
    assert body["subresource_uris"]["recordings"] == \
        f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{call.sid}/Recordings.json"

    listing = requests.get(api(server, "Calls.json"), params={"PageSize": 10}, auth=auth, timeout=5).json()
    assert [c["sid"] for c in listing["calls"]] == [call.sid]
    assert listing["next_page_uri"] is None and listing["previous_page_uri"] is None
    assert (listing["page"], listing["page_size"], listing["start"], listing["end"]) == (0, 10, 0, 0)
    assert listing["first_page_uri"].startswith(f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json?")
    assert listing["uri"].startswith(f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json?")


def test_create_call_validation(sim, server, client):
    auth = (ACCOUNT_SID, AUTH_TOKEN)
    cases = [({"From": FROM, "Twiml": HI}, 21201), ({"To": "client:alice", "Twiml": HI}, 21213),
             ({"To": "client:alice", "From": FROM}, 21205), ({"To": "not a number", "From": FROM, "Twiml": HI}, 21211)]
    for data, code in cases:
        reply = requests.post(api(server, "Calls.json"), data=data, auth=auth, timeout=5)
        body = reply.json()
        assert reply.status_code == 400 and body["code"] == code and body["status"] == 400
        assert set(body) >= {"code", "message", "more_info", "status"}
    with pytest.raises(TwilioRestException) as caught:
        client.calls.create(to="client:alice", from_=FROM)
    assert (caught.value.status, caught.value.code) == (400, 21205)
    assert sim.calls == {}


def test_authentication_and_unknown_resources(sim, server, client):
    wrong = Client(ACCOUNT_SID, "not-the-token")
    wrong.api.base_url = server.url
    for attempt in (lambda: wrong.calls("CA" + "0" * 32).fetch(), lambda: wrong.queues.create(friendly_name="x"),
                    lambda: wrong.calls.create(to="client:alice", from_=FROM, twiml=HI)):
        with pytest.raises(TwilioRestException) as caught:
            attempt()
        assert (caught.value.status, caught.value.code) == (401, 20003)
    with pytest.raises(TwilioException):        # the client reports a failed list page without the code
        wrong.calls.list()
    assert sim.calls == {} and sim.queues == {}

    other_account = "AC" + "9" * 32
    for auth, path in ((None, "Calls.json"), ((other_account, AUTH_TOKEN), "Calls.json"),
                       ((ACCOUNT_SID, AUTH_TOKEN), None)):
        url = api(server, path) if path else f"{server.url}/2010-04-01/Accounts/{other_account}/Calls.json"
        reply = requests.get(url, auth=auth, timeout=5)
        assert reply.status_code == 401
        assert reply.json() == {"code": 20003, "message": "Authenticate",
                                "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}

    with pytest.raises(TwilioRestException) as caught:
        client.calls("CA" + "0" * 32).fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)
    with pytest.raises(TwilioRestException) as caught:
        client.calls("CA" + "0" * 32).update(status="completed")
    assert caught.value.status == 404
    reply = requests.get(api(server, "Conferences.json"), auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)
    body = reply.json()
    assert reply.status_code == 404 and body["code"] == 20404 and "was not found" in body["message"]
    assert body["more_info"] == "https://www.twilio.com/docs/errors/20404"


def test_redirecting_http_client(sim, server):
    sim.softphone("alice", answer_after=0.1)
    redirected = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=redirecting_http_client(server.url))
    call = redirected.calls.create(to="client:alice", from_=FROM, twiml=HI)
    assert redirected.calls(call.sid).fetch().sid == call.sid
    assert redirected.queues.list() == []


def test_make_app_with_flask_test_client(sim):
    app = make_app(sim)
    with app.test_client() as http:
        headers = {"Authorization": "Basic " + __import__("base64").b64encode(
            f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()}
        reply = http.post(f"/2010-04-01/Accounts/{ACCOUNT_SID}/Queues.json", data={"FriendlyName": "sales"},
                          headers=headers)
        assert reply.status_code == 201 and reply.get_json()["friendly_name"] == "sales"
        assert http.get(f"/2010-04-01/Accounts/{ACCOUNT_SID}/Queues.json").status_code == 401


# -- queues ------------------------------------------------------------------------------------------
def test_queue_members_and_dequeue(sim, server, client, twiml):
    for number in ("+14155550101", "+14155550102", "+14155550103"):
        sim.phone(number, answer_after=0.1)
    first = client.calls.create(to="+14155550101", from_=FROM, twiml=ENQUEUE)
    wait_until(lambda: sim.queue_named("support", create=False) and
               len(sim.queue_named("support", create=False).members) == 1, what="the first caller to queue")
    second = client.calls.create(to="+14155550102", from_=FROM, twiml=ENQUEUE)
    third = client.calls.create(to="+14155550103", from_=FROM, twiml=ENQUEUE)
    queue_sim = sim.queue_named("support", create=False)
    wait_until(lambda: len(queue_sim.members) == 3, what="three callers in the queue")
    assert sim.calls[first.sid].events("play")[0]["url"] == "http://com.twilio.sounds.music/classical.mp3"

    (queue,) = client.queues.list()
    assert (queue.sid, queue.friendly_name, queue.current_size, queue.max_size) == (queue_sim.sid, "support", 3, 1000)
    assert queue.uri == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Queues/{queue.sid}.json"
    assert client.queues(queue.sid).fetch().current_size == 3

    members = client.queues(queue.sid).members.list()
    assert [m.call_sid for m in members][:1] == [first.sid]
    assert sorted(m.call_sid for m in members[1:]) == sorted([second.sid, third.sid])
    assert [m.position for m in members] == [1, 2, 3]
    assert all(m.queue_sid == queue.sid and m.date_enqueued is not None and m.wait_time >= 0 for m in members)
    last = members[2].call_sid
    assert client.queues(queue.sid).members(last).fetch().position == 3
    assert client.queues(queue.sid).members("Front").fetch().call_sid == first.sid

    twiml.docs["agent"] = '<Response><Say>connecting you to an agent</Say><Pause length="600"/></Response>'
    dequeued = client.queues(queue.sid).members(last).update(url=f"{twiml.url}/agent", method="POST")
    assert dequeued.call_sid == last and dequeued.position == 3
    wait_until(lambda: "connecting you to an agent" in sim.calls[last].said(), what="the dequeued call to run Url")
    assert len(queue_sim.members) == 2 and sim.calls[last].queue is None
    assert sim.calls[last].events("dequeue")[0]["result"] == "redirected"
    assert twiml.got("agent")[0]["CallSid"] == last
    assert client.calls(last).fetch().status == "in-progress"

    front = client.queues(queue.sid).members("Front").update(url=f"{twiml.url}/agent")
    assert front.call_sid == first.sid and front.position == 1
    wait_until(lambda: "connecting you to an agent" in sim.calls[first.sid].said(), what="the front call")
    assert [m.call_sid for m in client.queues(queue.sid).members.list()] == [
        s for s in (second.sid, third.sid) if s != last]

    with pytest.raises(TwilioRestException) as caught:                # not (or no longer) a member
        client.queues(queue.sid).members(first.sid).update(url=f"{twiml.url}/agent")
    assert (caught.value.status, caught.value.code) == (404, 20404)
    with pytest.raises(TwilioRestException) as caught:
        client.queues("QU" + "0" * 32).members("Front").fetch()
    assert caught.value.status == 404
    reply = requests.post(api(server, f"Queues/{queue.sid}/Members/Front.json"), data={},
                          auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)
    assert reply.status_code == 400 and reply.json()["code"] == 21205

    remaining = client.queues(queue.sid).members.list()[0].call_sid
    client.queues(queue.sid).members("Front").update(url=f"{twiml.url}/agent")
    wait_until(lambda: not queue_sim.members, what="an empty queue")
    wait_until(lambda: "connecting you to an agent" in sim.calls[remaining].said(), what="the last call")
    assert client.queues(queue.sid).members.list() == []
    with pytest.raises(TwilioRestException) as caught:
        client.queues(queue.sid).members("Front").update(url=f"{twiml.url}/agent")
    assert caught.value.status == 404


def test_updating_a_queued_call_takes_it_out_of_the_queue(sim, server, client):
    sim.phone("+14155550101", answer_after=0.1)
    call = client.calls.create(to="+14155550101", from_=FROM, twiml=ENQUEUE)
    wait_until(lambda: sim.calls[call.sid].queue is not None, what="the caller to queue")
    client.calls(call.sid).update(twiml='<Response><Say>you left the queue</Say><Pause length="600"/></Response>')
    wait_until(lambda: "you left the queue" in sim.calls[call.sid].said(), timeout=2, what="the new TwiML")
    queue = sim.queue_named("support", create=False)
    assert queue.members == [] and client.queues(queue.sid).fetch().current_size == 0


def test_queue_create_update_and_paging(sim, server, client):
    created = client.queues.create(friendly_name="billing", max_size=10)
    assert created.sid.startswith("QU") and (created.friendly_name, created.max_size) == ("billing", 10)
    assert created.current_size == 0 and created.average_wait_time == 0 and created.date_created is not None
    assert sim.queue_named("billing", create=False).sid == created.sid

    updated = client.queues(created.sid).update(friendly_name="billing-emea", max_size=20)
    assert (updated.friendly_name, updated.max_size) == ("billing-emea", 20)
    assert sim.queue_named("billing", create=False) is None
    assert sim.queue_named("billing-emea", create=False).max_size == 20
    assert client.queues(created.sid).fetch().friendly_name == "billing-emea"

    for bad in ({"friendly_name": "billing-emea"}, {"friendly_name": "x", "max_size": 0},
                {"friendly_name": "y", "max_size": 5001}, {"friendly_name": "z" * 65}):
        with pytest.raises(TwilioRestException) as caught:
            client.queues.create(**bad)
        assert caught.value.status == 400
    with pytest.raises(TwilioRestException) as caught:
        client.queues("QU" + "0" * 32).fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)

    for name in ("a", "b", "c"):
        client.queues.create(friendly_name=name)
    assert [q.friendly_name for q in client.queues.list(page_size=2)] == ["billing-emea", "a", "b", "c"]
    assert [q.friendly_name for q in client.queues.list(limit=3, page_size=2)] == ["billing-emea", "a", "b"]


# -- recordings -------------------------------------------------------------------------------------
def test_recordings_after_a_record(sim, server, client, twiml):
    sim.phone("+14155550142", answer_after=0.1,
              script=CallerScript(message=RecordMessage(text="please call me back", duration=3)))
    twiml.docs["recorded"] = "<Response><Say>thanks</Say></Response>"
    call = client.calls.create(
        to="+14155550142", from_=FROM,
        twiml=f'<Response><Record maxLength="30" action="{twiml.url}/recorded"/></Response>')
    assert ended(sim, call.sid)
    assert sim.calls[call.sid].said() == ["thanks"]

    (recording,) = client.recordings.list()
    assert recording.sid.startswith("RE") and recording.call_sid == call.sid
    assert (recording.duration, recording.status, recording.account_sid) == ("3", "completed", ACCOUNT_SID)
    assert recording.uri == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{recording.sid}.json"
    assert recording.media_url == api(server, f"Recordings/{recording.sid}")
    assert recording.date_created is not None
    assert client.recordings(recording.sid).fetch().call_sid == call.sid
    assert [r.sid for r in client.calls(call.sid).recordings.list()] == [recording.sid]
    assert [r.sid for r in client.recordings.list(call_sid=call.sid)] == [recording.sid]
    assert client.recordings.list(call_sid="CA" + "0" * 32) == []

    (posted,) = twiml.got("recorded")
    assert posted["RecordingUrl"] == recording.media_url and posted["RecordingDuration"] == "3"
    wav = requests.get(recording.media_url, timeout=5)                      # media: no auth, as on Twilio
    assert wav.status_code == 200 and wav.headers["Content-Type"] == "audio/x-wav" and wav.content[:4] == b"RIFF"
    mp3 = requests.get(recording.media_url + ".mp3", timeout=5)
    assert mp3.status_code == 200 and mp3.headers["Content-Type"] == "audio/mpeg"
    with pytest.raises(TwilioRestException) as caught:
        client.recordings("RE" + "0" * 32).fetch()
    assert caught.value.status == 404


def test_server_lifecycle_sets_and_restores_api_url():
    simulator = Simulator(ACCOUNT_SID, AUTH_TOKEN, time_scale=0.02)
    before = simulator.api_url
    server = RestServer(simulator).start()
    try:
        assert simulator.api_url == server.url and server.url.startswith("http://127.0.0.1:")
        assert requests.get(f"{server.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json",
                            auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5).status_code == 200
        assert server.client().calls.list() == []
    finally:
        server.stop()
        simulator.shutdown()
    assert simulator.api_url == before
