"""The requests the official `twilio` library makes for a contact center's conference calls (dial
an agent into the caller's conference, hold, mute, coach, keep the room after the agent, remove a
participant, move the agent's call on, end the conference), sent to the REST stand-in: each is
accepted with the success status Twilio's OpenAPI description (twilio_api_v2010.json) documents
for it, does what it says in the simulator, and is itself an operation of that description with
only documented parameters, each of the documented type (and value, where the description lists
them in words). The library is not mocked: its own HTTP client sends the requests, and a session
that wraps its `send` records each prepared request as it goes on the wire."""
from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from tests import test_twiliosim_rest_fixtures as shared
from tests.test_twiliosim_rest_fixtures import ACCOUNT_SID, AUTH_TOKEN, FROM, wait_until
from twiliosim.conferences import conferences

# The shared fixtures, found by pytest under these names in this module.
sim, server, twiml = shared.sim, shared.server, shared.twiml

OAI = Path(__file__).resolve().parent.parent.parent / "shared" / "twilio-oai" / "twilio_api_v2010.json"
CUSTOMER = "+14155550101"
# What the description states in words only (as test_twiliosim_rest_answers_as_twilio_documents' BOUNDS).
WORDS = {("Conferences/{ConferenceSid}/Participants.json", "Beep"): ("true", "false", "onEnter", "onExit"),
         ("Conferences/{ConferenceSid}/Participants.json", "StatusCallbackEvent"):
             ("initiated", "ringing", "answered", "completed"),
         ("Conferences/{ConferenceSid}/Participants.json", "ConferenceStatusCallbackEvent"):
             ("start", "end", "join", "leave", "mute", "hold", "modify", "speaker", "announcement")}
RANGES = {("Conferences/{ConferenceSid}/Participants.json", "Timeout"): (5, 600)}


class Recording(requests.Session):
    """The twilio client's session: every request as sent (method, URL, form body) and its reply."""

    def __init__(self):
        super().__init__()
        self.sent: list[tuple[str, str, dict[str, list[str]], requests.Response]] = []

    def send(self, request, **kwargs):
        response = super().send(request, **kwargs)
        body = request.body.decode() if isinstance(request.body, bytes) else request.body or ""
        self.sent.append((request.method, request.url, parse_qs(body, keep_blank_values=True), response))
        return response


@pytest.fixture(scope="module")
def description():
    if not OAI.exists():
        pytest.skip(f"Twilio's OpenAPI description is not here: {OAI} (the repo's ../shared)")
    return json.loads(OAI.read_text())


@pytest.fixture
def wire(server):
    """A twilio Client pointed at the stand-in, as acd/service.py's twilio_client makes it, and what it sent."""
    session = Recording()
    http = TwilioHttpClient()
    http.session = session
    client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=http)
    client.api.base_url = server.url
    return client, session.sent


def operation_of(description: dict, method: str, url: str) -> tuple[str, dict, dict[str, str]]:
    """(path of the description, its operation, the path parameters) for a request, or fail."""
    path = urlsplit(url).path
    for template, operations in description["paths"].items():
        pattern = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(template))
        match = re.fullmatch(pattern, path)
        if match and method.lower() in operations:
            return template.split("{AccountSid}/", 1)[1], operations[method.lower()], match.groupdict()
    raise AssertionError(f"{method} {path} is no operation of twilio_api_v2010.json")


def resolved(description: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = description["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def check_value(description: dict, where: str, name: str, schema: dict, value: str) -> None:
    """One form or path value as the description types it (and as its words bound it)."""
    schema = resolved(description, schema)
    what = f"{where} {name}={value!r}"
    kind = schema.get("type")
    if kind == "boolean":
        assert value in ("true", "false"), what
    elif kind == "integer":
        assert re.fullmatch(r"-?[0-9]+", value), what
        low, high = RANGES.get((where, name), (schema.get("minimum"), schema.get("maximum")))
        assert (low is None or int(value) >= low) and (high is None or int(value) <= high), what
    else:
        assert kind == "string", what
        if "enum" in schema:
            assert value in schema["enum"], what
        if "pattern" in schema:
            assert re.search(schema["pattern"], value), what
        if "minLength" in schema:
            assert schema["minLength"] <= len(value) <= schema.get("maxLength", len(value)), what
        if schema.get("format") == "uri":
            parts = urlsplit(value)
            assert parts.scheme in ("http", "https") and parts.netloc, what
        if (where, name) in WORDS:
            assert value in WORDS[(where, name)], what


def check_request(description: dict, method: str, url: str, form: dict[str, list[str]],
                  response: requests.Response) -> str:
    """The request is an operation of the description with documented parameters only, and the
    stand-in answered with that operation's documented success status. Returns the operation's path."""
    where, operation, path_values = operation_of(description, method, url)
    documented = {p["name"]: p for p in operation.get("parameters", [])}
    for name, value in path_values.items():
        check_value(description, where, name, documented[name]["schema"], value)
    query = parse_qs(urlsplit(url).query, keep_blank_values=True)
    for name, values in query.items():
        assert documented.get(name, {}).get("in") == "query", f"{method} {where}: undocumented query {name}"
        for value in values:
            check_value(description, where, name, documented[name]["schema"], value)
    if form:
        assert "requestBody" in operation, f"{method} {where} takes no body: {sorted(form)}"
    if "requestBody" in operation:
        body = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
        properties = body["properties"]
        assert set(form) <= set(properties), f"{method} {where}: undocumented {sorted(set(form) - set(properties))}"
        assert set(body.get("required", [])) <= set(form), f"{method} {where}: missing {body['required']}"
        for name, values in form.items():
            schema = resolved(description, properties[name])
            assert schema.get("type") == "array" or len(values) == 1, f"{where} {name} repeated"
            for value in values:
                check_value(description, where, name, schema.get("items", schema), value)
    documented_statuses = [int(status) for status in operation["responses"] if status.startswith("2")]
    assert response.status_code in documented_statuses, (method, where, response.status_code, response.text)
    return where


def test_the_twilio_librarys_conference_requests_are_described_operations_the_stand_in_accepts(
        sim, twiml, wire, description):
    client, sent = wire
    sim.phone(CUSTOMER, answer_after=0.0, talk_for=None)
    sim.softphone("alice", answer_after=0.2, talk_for=None)
    sim.softphone("sup", answer_after=0.2, talk_for=None)
    twiml.docs["hold"] = '<Response><Say>please hold</Say><Pause length="60"/></Response>'
    twiml.docs["after"] = '<Response><Say>wrap up</Say><Pause length="60"/></Response>'
    # The caller waits in the conference named for the call, as the service's TwiML puts them there.
    customer = sim.create_call(CUSTOMER, FROM, twiml=(
        '<Response><Dial><Conference startConferenceOnEnter="false" participantLabel="customer">'
        "call-77</Conference></Dial></Response>"))
    registry = conferences(sim)
    room = wait_until(lambda: registry.live_named("call-77"), what="the caller's conference")
    wait_until(lambda: room.participant(customer.sid) and room.participant(customer.sid).connected,
               what="the caller in the conference")

    # The agent dialed into the caller's conference, named by its FriendlyName.
    agent = client.conferences("call-77").participants.create(
        from_=FROM, to="client:alice", label="agent", start_conference_on_enter=True, end_conference_on_exit=True,
        beep="false", timeout=20, status_callback=f"{twiml.url}/status-call",
        status_callback_event=["initiated", "ringing", "answered", "completed"],
        conference_status_callback=f"{twiml.url}/status-conf",
        conference_status_callback_event=["start", "end", "join", "leave", "hold"], early_media=False)
    assert (agent.conference_sid, agent.label, agent.end_conference_on_exit) == (room.sid, "agent", True)
    wait_until(lambda: len(room.connected()) == 2, what="the agent to join")
    assert room.status == "in-progress" and room.who_hears(agent.call_sid) == {customer.sid}
    participants = client.conferences(room.sid).participants

    held = participants(customer.sid).update(hold=True, hold_url=f"{twiml.url}/hold", hold_method="POST")
    assert held.hold is True and room.what_hears(customer.sid) == "hold-music"
    wait_until(lambda: twiml.got("hold"), what="the hold music to be fetched")
    assert participants(customer.sid).update(muted=True).muted is True
    assert room.who_hears(customer.sid) == set()

    supervisor = participants.create(from_=FROM, to="client:sup", label="supervisor")
    wait_until(lambda: len(room.connected()) == 3, what="the supervisor to join")
    coaching = participants(supervisor.call_sid).update(coaching=True, call_sid_to_coach=agent.call_sid)
    assert (coaching.coaching, coaching.call_sid_to_coach) == (True, agent.call_sid)
    assert room.who_hears(supervisor.call_sid) == {agent.call_sid}
    kept = participants(agent.call_sid).update(end_conference_on_exit=False)
    assert kept.end_conference_on_exit is False
    assert participants(supervisor.call_sid).delete() is True
    wait_until(lambda: len(room.connected()) == 2, what="the supervisor to leave")

    # The agent's call moves on (wrap-up TwiML); without end_conference_on_exit the caller stays.
    moved = client.calls(agent.call_sid).update(url=f"{twiml.url}/after", method="POST")
    assert moved.sid == agent.call_sid
    wait_until(lambda: twiml.got("after"), what="the agent's call to fetch its new TwiML")
    wait_until(lambda: [p.call_sid for p in room.connected()] == [customer.sid], what="the agent to leave")
    assert room.status == "in-progress"
    ended = client.conferences(room.sid).update(status="completed")
    assert (ended.status, ended.reason_conference_ended) == ("completed", "conference-ended-via-api")
    assert wait_until(lambda: customer.ended, what="the caller's call to end after its Dial")

    operations = [check_request(description, method, url, form, response) for method, url, form, response in sent]
    assert [(method, where) for (method, *_), where in zip(sent, operations, strict=True)] == [
        ("POST", "Conferences/{ConferenceSid}/Participants.json"),
        ("POST", "Conferences/{ConferenceSid}/Participants/{CallSid}.json"),
        ("POST", "Conferences/{ConferenceSid}/Participants/{CallSid}.json"),
        ("POST", "Conferences/{ConferenceSid}/Participants.json"),
        ("POST", "Conferences/{ConferenceSid}/Participants/{CallSid}.json"),
        ("POST", "Conferences/{ConferenceSid}/Participants/{CallSid}.json"),
        ("DELETE", "Conferences/{ConferenceSid}/Participants/{CallSid}.json"),
        ("POST", "Calls/{Sid}.json"),
        ("POST", "Conferences/{Sid}.json")]
    # What the library put on the wire for the agent: every documented name the call gave, a list as repeats.
    assert sent[0][2] == {
        "From": [FROM], "To": ["client:alice"], "Label": ["agent"], "StartConferenceOnEnter": ["true"],
        "EndConferenceOnExit": ["true"], "Beep": ["false"], "Timeout": ["20"],
        "StatusCallback": [f"{twiml.url}/status-call"],
        "StatusCallbackEvent": ["initiated", "ringing", "answered", "completed"],
        "ConferenceStatusCallback": [f"{twiml.url}/status-conf"],
        "ConferenceStatusCallbackEvent": ["start", "end", "join", "leave", "hold"], "EarlyMedia": ["false"]}
    assert sent[0][1].split("/Conferences/")[1] == "call-77/Participants.json"
    assert sent[6][2] == {} and sent[8][2] == {"Status": ["completed"]}


def test_a_request_outside_the_description_is_caught(description):
    """The checks above fail on what the description does not have: a parameter it does not name,
    a value of the wrong type, a path it has not."""
    ok = requests.Response()
    ok.status_code = 200
    url = f"http://x/2010-04-01/Accounts/{ACCOUNT_SID}/Conferences/CF{'0' * 32}/Participants/CA{'0' * 32}.json"
    check_request(description, "POST", url, {"Muted": ["true"]}, ok)
    for form in ({"Mute": ["true"]}, {"Muted": ["yes"]}, {"HoldMethod": ["PUT"]}, {"HoldUrl": ["/relative"]}):
        with pytest.raises(AssertionError):
            check_request(description, "POST", url, form, ok)
    with pytest.raises(AssertionError):
        check_request(description, "PUT", url, {}, ok)
    created = requests.Response()
    created.status_code = 201
    create = url.rsplit("/", 1)[0] + ".json"
    with pytest.raises(AssertionError):       # Timeout "Can be an integer between 5 and 600"
        check_request(description, "POST", create, {"From": [FROM], "To": [CUSTOMER], "Timeout": ["4"]}, created)
    with pytest.raises(AssertionError):       # a create is 201, not 200
        check_request(description, "POST", create, {"From": [FROM], "To": [CUSTOMER]}, ok)


def test_a_call_sid_to_coach_alone_makes_the_participant_coach(sim, wire, description):
    """"Coaching ... If not present, defaults to `false` unless `call_sid_to_coach` is defined": the
    library sends CallSidToCoach without Coaching, on a create and on an update."""
    client, sent = wire
    sim.phone(CUSTOMER, answer_after=0.0, talk_for=None)
    for identity in ("alice", "sup"):
        sim.softphone(identity, answer_after=0.0, talk_for=None)
    customer = client.conferences("call-78").participants.create(from_=FROM, to=CUSTOMER)
    room = conferences(sim).live_named("call-78")
    agent = client.conferences(room.sid).participants.create(from_=FROM, to="client:alice")
    supervisor = client.conferences(room.sid).participants.create(
        from_=FROM, to="client:sup", call_sid_to_coach=agent.call_sid)
    assert (supervisor.coaching, supervisor.call_sid_to_coach) == (True, agent.call_sid)
    wait_until(lambda: len(room.connected()) == 3, what="all three to join")
    assert room.who_hears(supervisor.call_sid) == {agent.call_sid}
    barged = client.conferences(room.sid).participants(supervisor.call_sid).update(coaching=False)
    assert barged.coaching is False and room.who_hears(supervisor.call_sid) == {agent.call_sid, customer.call_sid}
    coaching = client.conferences(room.sid).participants(supervisor.call_sid).update(call_sid_to_coach=customer.call_sid)
    assert (coaching.coaching, coaching.call_sid_to_coach) == (True, customer.call_sid)
    assert room.who_hears(supervisor.call_sid) == {customer.call_sid}
    assert sent[2][2] == {"From": [FROM], "To": ["client:sup"], "CallSidToCoach": [agent.call_sid]}
    assert sent[4][2] == {"CallSidToCoach": [customer.call_sid]}
    for method, url, form, response in sent:
        check_request(description, method, url, form, response)
    client.conferences(room.sid).update(status="completed")
