"""Schemathesis against the REST stand-in (twiliosim/rest/), with Twilio's own OpenAPI
description of the 2010-04-01 API (../shared/twilio-oai/twilio_api_v2010.json) as the
judge. Every operation the stand-in serves, and only those, gets the requests schemathesis
makes from the description, valid and invalid (its coverage cases: boundaries, missing and
malformed parameters, wrong types and methods, no credentials; then MAX_EXAMPLES fuzzed ones),
sent to the Flask app in-process (WSGI, no port). Each answer goes through every check
schemathesis enables by default: no 5xx; the status code, content type, headers and body the
description documents; 401 without the account's Basic credentials; 405 with an exact Allow
for a method the path does not take; valid requests accepted, invalid ones refused.

Where the description says less than Twilio does, `twilio_as_documented` adds what Twilio
documents, each with its reason: the error replies (400, 401, 404 with Twilio's error body),
which it leaves out of every operation; bounds and event names it states only in words; that a
call needs its TwiML (Url or Twiml) and a coaching participant the call it coaches; that required
forms and fields cannot be left out or empty; that paging URIs are relative; that a conference
not ended has no reason yet (null, as Twilio's examples answer). Twilio's own value formats
(`endpoint`, `phone-number`, `twiml`) get generators. Two kinds of failure are dropped, each
where Twilio answers as the stand-in does (`filter_failure`): a valid request refused for the
state of what it names, and an "invalid" one whose only invalid values are empty. Nothing else
is excluded.

The generation is derandomized (seeded, no example database): the same command sends the same
requests, but for the SIDs and times of the calls each run makes. (Hypothesis draws a few of its strings from the literals of the modules loaded so
far, so the module alone and the module in `make test` differ in a few values.) Nothing
generated reaches a server: the simulator here fetches no URL (`NoFetch`).

Long because the description's gaps (`twilio_as_documented`), the world the requests act on (calls,
a queue, recordings, conferences) and the hooks that aim the requests at it are one harness.
"""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import requests

OAI = Path(__file__).resolve().parents[1].parent / "shared" / "twilio-oai" / "twilio_api_v2010.json"
if not OAI.exists():
    pytest.skip(f"Twilio's OpenAPI description is not here: {OAI} (the repo's ../shared)", allow_module_level=True)

import schemathesis  # noqa: E402  (only once the description is known to be here)
from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.test_twiliosim_rest_fixtures import ACCOUNT_SID, AUTH_TOKEN, FROM, wait_until  # noqa: E402
from twiliosim import Simulator  # noqa: E402
from twiliosim.conferences import conferences  # noqa: E402
from twiliosim.rest import make_app  # noqa: E402

PREFIX = "/2010-04-01/Accounts/{AccountSid}/"
PARTICIPANTS = "Conferences/{ConferenceSid}/Participants.json"
PARTICIPANT = "Conferences/{ConferenceSid}/Participants/{CallSid}.json"
# What twiliosim/rest/ serves (calls.py, queues.py, recordings.py, conferences.py), as (method, path of the
# description).
# Recording media (`Recordings/{Sid}` without `.json`, `.wav`, `.mp3`) is not in the description.
SERVED = (
    ("GET", "Calls.json"), ("POST", "Calls.json"),
    ("GET", "Calls/{Sid}.json"), ("POST", "Calls/{Sid}.json"), ("DELETE", "Calls/{Sid}.json"),
    ("GET", "Calls/{CallSid}/Recordings.json"), ("GET", "Calls/{CallSid}/Recordings/{Sid}.json"),
    ("GET", "Queues.json"), ("POST", "Queues.json"), ("GET", "Queues/{Sid}.json"), ("POST", "Queues/{Sid}.json"),
    ("GET", "Queues/{QueueSid}/Members.json"),
    ("GET", "Queues/{QueueSid}/Members/{CallSid}.json"), ("POST", "Queues/{QueueSid}/Members/{CallSid}.json"),
    ("GET", "Recordings.json"), ("GET", "Recordings/{Sid}.json"),
    ("GET", "Conferences.json"), ("GET", "Conferences/{Sid}.json"), ("POST", "Conferences/{Sid}.json"),
    ("GET", PARTICIPANTS), ("POST", PARTICIPANTS),
    ("GET", PARTICIPANT), ("POST", PARTICIPANT), ("DELETE", PARTICIPANT),
)
LABELS = [f"{method} {PREFIX}{path}" for method, path in SERVED]
MAX_EXAMPLES = 20          # fuzzed requests per operation, besides the description's examples and coverage cases
SEED = 20100401

# Twilio's error reply, as https://www.twilio.com/docs/usage/twilios-response describes it
# (and twiliosim/rest/errors.py writes it): the description has no schema for it.
TWILIO_ERROR = {"type": "object", "required": ["code", "message", "more_info", "status"],
                "properties": {"code": {"type": "integer"}, "message": {"type": "string"},
                               "more_info": {"type": "string", "format": "uri"}, "status": {"type": "integer"}}}
ERRORS = {400: "Bad Request: a parameter is missing or invalid (Twilio's code says which)",
          401: "Unauthorized: no or wrong AccountSid:AuthToken",
          404: "Not Found: no such resource"}
# What the description states in words only: bounds ("the maximum is 600 seconds", "up to 64 characters";
# a count of seconds or of calls is at least 1) and the events a callback may name ("Can be: `initiated`,
# `ringing`, ..."). Without them the generator sends Timeout=0, a 65-character FriendlyName or an event
# "v" as valid, and the refusal (20001, 20002, as Twilio's) fails the acceptance check.
BOUNDS = {
    ("POST", "Calls.json", "Timeout"): {"minimum": 1, "maximum": 600},
    ("POST", "Calls.json", "StatusCallbackEvent"): {
        "items": {"type": "string", "enum": ["initiated", "ringing", "answered", "completed"]}},
    ("POST", "Calls.json", "RecordingStatusCallbackEvent"): {
        "items": {"type": "string", "enum": ["in-progress", "completed", "absent"]}},
    ("POST", "Queues.json", "FriendlyName"): {"maxLength": 64},
    ("POST", "Queues.json", "MaxSize"): {"minimum": 1, "maximum": 5000},
    ("POST", "Queues/{Sid}.json", "FriendlyName"): {"maxLength": 64},
    ("POST", "Queues/{Sid}.json", "MaxSize"): {"minimum": 1, "maximum": 5000},
    ("POST", PARTICIPANTS, "Timeout"): {"minimum": 5, "maximum": 600},
    ("POST", PARTICIPANTS, "MaxParticipants"): {"minimum": 2, "maximum": 250},
    ("POST", PARTICIPANTS, "Beep"): {"enum": ["true", "false", "onEnter", "onExit"]},
    ("POST", PARTICIPANTS, "StatusCallbackEvent"): {
        "items": {"type": "string", "enum": ["initiated", "ringing", "answered", "completed"]}},
    ("POST", PARTICIPANTS, "ConferenceStatusCallbackEvent"): {"items": {"type": "string", "enum": [
        "start", "end", "join", "leave", "mute", "hold", "modify", "speaker", "announcement"]}},
    ("POST", PARTICIPANTS, "RecordingStatusCallbackEvent"): {"items": {"type": "string", "enum": [
        "started", "in-progress", "paused", "resumed", "stopped", "completed", "failed", "absent"]}},
    ("POST", PARTICIPANTS, "ConferenceRecordingStatusCallbackEvent"): {
        "items": {"type": "string", "enum": ["in-progress", "completed", "failed", "absent"]}},
}
PAGING = ("uri", "first_page_uri", "next_page_uri", "previous_page_uri")


def form(operation: dict) -> dict:
    return operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]


def twilio_as_documented(description: dict) -> dict:
    """The description of the served operations only, with what it leaves out and Twilio documents."""
    described = copy.deepcopy(description)
    served: dict[str, dict] = {}
    for method, path in SERVED:
        served.setdefault(PREFIX + path, {})[method.lower()] = described["paths"][PREFIX + path][method.lower()]
    # Only what the stand-in serves: the methods it does not (POST Calls/{CallSid}/Recordings.json
    # starts a recording, DELETE Queues/{Sid}.json, ...) would be expected in its 405's Allow.
    described["paths"] = served
    for (method, path, name), bounds in BOUNDS.items():
        form(served[PREFIX + path][method.lower()])["properties"][name].update(bounds)
    # "Url ... Twiml ... ApplicationSid": Twilio refuses a call with none (21205, "Url parameter is
    # required"); the description can only say To and From are required. The stand-in has no
    # Applications (a generated AP… SID names none on Twilio either), so a call here needs Url or Twiml.
    form(served[PREFIX + "Calls.json"]["post"])["anyOf"] = [{"required": ["Url"]}, {"required": ["Twiml"]}]
    # "Coaching ... If `true`, `call_sid_to_coach` must be defined": a new participant that coaches
    # names the call it coaches (an update may coach the call the participant coached before, see STATE_REFUSALS).
    form(served[PREFIX + PARTICIPANTS]["post"]).update({
        "if": {"properties": {"Coaching": {"const": True}}, "required": ["Coaching"]},
        "then": {"required": ["CallSidToCoach"]}})
    # A conference not ended yet has no reason: Twilio's own examples answer `"reason_conference_ended": null`
    # (fetchValidRegionInProgress, announceToConference), which the enum it refers to does not allow.
    described["components"]["schemas"]["conference_enum_reason_conference_ended"]["nullable"] = True
    # A form with required fields (To and From, FriendlyName, a dequeue's Url) cannot be left out
    # whole; the description does not mark those request bodies required, so "no body" passed as valid.
    # And a required field cannot be empty: Twilio reads an empty parameter as no value (see filter_failure).
    for operations in served.values():
        for operation in operations.values():
            if "requestBody" in operation and form(operation).get("required"):
                operation["requestBody"]["required"] = True
                for name in form(operation)["required"]:
                    form(operation)["properties"][name].setdefault("minLength", 1)
    for method, path in SERVED:
        operation = served[PREFIX + path][method.lower()]
        params = [p for p in operation.get("parameters", []) if p["name"] != "AccountSid"]
        # twilio-oai lists only each operation's success reply (200, 201 or 204). Twilio refuses a
        # request with 401 (credentials), 400 (a parameter; for DELETE a call still live, 20009) or
        # 404 (an unknown SID in the path), with its error body: with them, refusals are checked too.
        statuses = [401]
        if any(p["in"] == "query" for p in params) or "requestBody" in operation or method in ("POST", "DELETE"):
            statuses.append(400)
        if any(p["in"] == "path" for p in params):
            statuses.append(404)
        for status in statuses:
            operation["responses"].setdefault(str(status), {
                "description": ERRORS[status], "content": {"application/json": {"schema": TWILIO_ERROR}}})
        # A list's paging URIs are relative ("/2010-04-01/Accounts/AC…/Calls.json?PageSize=50&Page=0" in
        # Twilio's docs and replies); the description says `format: uri`, which wants a scheme.
        listing = operation["responses"].get("200", {}).get("content", {}).get("application/json", {}).get("schema", {})
        for name in PAGING:
            if listing.get("properties", {}).get(name, {}).get("format") == "uri":
                listing["properties"][name]["format"] = "uri-reference"
    return described


# Twilio's own value formats in the description (schemathesis would make up any string for them;
# Twilio refuses what is not one, with 21211 and the like, as the stand-in does).
E164 = st.from_regex(r"\A\+1[2-9][0-9]{9}\Z")
schemathesis.openapi.format("phone-number", E164)
schemathesis.openapi.format("endpoint", st.one_of(                 # a number, a Client or a SIP address
    E164, st.from_regex(r"\Aclient:[a-z][a-z0-9_]{0,15}\Z"), st.from_regex(r"\Asip:[a-z]{1,8}@example\.com\Z")))
schemathesis.openapi.format("twiml", st.sampled_from([
    "<Response><Say>hi</Say></Response>", '<Response><Pause length="1"/><Hangup/></Response>',
    "<Response><Enqueue>support</Enqueue></Response>"]))

CONFIG = schemathesis.Config.from_dict({
    "seed": SEED,
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
    # The description has no links to chain operations by: the stateful phase would find nothing to do.
    "phases": {"stateful": {"enabled": False}},
    # Not the string literals of the app's modules as values: which modules that finds depends on what
    # the process imported before (other tests), so the requests would differ from run to run.
    "analysis": {"constants": {"enabled": False}},
    "parameters": {"path.AccountSid": ACCOUNT_SID},
    "auth": {"basic": {"username": ACCOUNT_SID, "password": AUTH_TOKEN}},
})
schema = schemathesis.openapi.from_dict(twilio_as_documented(json.loads(OAI.read_text())),
                                        config=CONFIG).include(name=LABELS)


class World:
    """The WSGI app schemathesis sends every request to (also its own probes without credentials):
    the stand-in over the current operation's simulator."""
    app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


WORLD = World()
schema.app = WORLD
# The resources of the current world, by SID prefix, and what else a path may name (see map_path_parameters).
KNOWN: dict[str, list[str]] = {"CA": [], "QU": [], "RE": [], "CF": [], "ROOM": [], "PARTICIPANT": [],
                               "FRONT": ["Front"]}
SID = re.compile(r"\A(CA|QU|RE|CF)[0-9a-fA-F]{32}\Z")
# Path parameters the description types as any string, and which of the world's names they may become:
# a member's CallSid (`Front`: the first caller), the conference of an update (its SID) or of a new
# participant (its SID or its FriendlyName), a participant (its CallSid or its Label).
ANY_STRING = {("POST", "Queues/{QueueSid}/Members/{CallSid}.json", "CallSid"): "FRONT",
              ("GET", "Queues/{QueueSid}/Members/{CallSid}.json", "CallSid"): "FRONT",
              ("POST", "Conferences/{Sid}.json", "Sid"): "CF",
              ("POST", PARTICIPANTS, "ConferenceSid"): "ROOM",
              **{(method, PARTICIPANT, "CallSid"): "PARTICIPANT" for method in ("GET", "POST", "DELETE")}}
ROOM_OF: dict[str, str] = {}         # each KNOWN participant (CallSid, Label): the SID of its conference
# Refusals of a valid request for the state of what it names, as Twilio answers them: 400, and the code
# (and message) saying why. Schemathesis expects such a refusal as 409; the request itself was valid.
STATE_REFUSALS = {
    ("DELETE", "Calls/{Sid}.json"): (20009, "before it is complete"),    # the call is not over yet
    ("POST", "Calls/{Sid}.json"): (21220, "not in-progress"),            # over: it cannot be redirected
    ("POST", "Queues.json"): (20002, "already exists"),                  # a queue has that FriendlyName
    ("POST", "Queues/{Sid}.json"): (20002, "already exists"),
    ("GET", "Calls.json"): (20001, "PageToken"),       # a made-up PageToken names no page of this list
    # Coaching=true without CallSidToCoach: the participant coaches no call yet (one that coached before,
    # then barged, coaches that call again).
    ("POST", PARTICIPANT): (20001, "CallSidToCoach is required"),
}


@schema.hook
def map_path_parameters(context, path_parameters: dict) -> dict:
    """Most valid SIDs the generator draws become one of a resource that exists, of the same kind,
    so that fetches, updates, deletes and dequeues reach real calls, queues, recordings and
    conferences, not only 404; most values of a path parameter the description types as any string
    (ANY_STRING) become a name of the world: `Front`, a conference, a participant's CallSid or Label.
    A participant so named is asked for in its own conference when the drawn one became a known one.
    A valid value stays valid: what a case tests does not change."""
    where = (context.operation.method.upper(), context.operation.path.removeprefix(PREFIX))
    for name, value in path_parameters.items():
        if not isinstance(value, str):
            continue
        match = SID.match(value)
        if match and KNOWN[match.group(1)]:
            known = KNOWN[match.group(1)]
            pick = int(value[-2:], 16) % (len(known) + 1)       # len(known): keep the drawn (unknown) SID
        elif not match and (*where, name) in ANY_STRING:
            known = KNOWN[ANY_STRING[(*where, name)]]
            pick = len(value) % (len(known) + 1)
        else:
            continue
        if pick < len(known):
            path_parameters[name] = known[pick]
    if path_parameters.get("CallSid") in ROOM_OF and path_parameters.get("ConferenceSid") in KNOWN["CF"]:
        path_parameters["ConferenceSid"] = ROOM_OF[path_parameters["CallSid"]]
    return path_parameters


def negated_values(case) -> list:
    """The values schemathesis made invalid in a negative case, as far as its metadata names them."""
    data = case.meta.phase.data
    names = {data.parameter} | {mutation.parameter for mutation in data.mutations}
    if data.location and data.location.startswith("/properties/"):
        names.add(data.location.split("/")[2])
    containers = [case.query or {}, case.body if isinstance(case.body, dict) else {}]
    return [container[name] for name in names if name for container in containers if name in container]


@schema.hook
def filter_failure(context, failure, case, response) -> bool:
    """Every failure fails the test but two kinds, each a case where Twilio answers as the stand-in does:

    - a valid request refused for the state of what it names (STATE_REFUSALS);
    - an "invalid" request whose only invalid values are empty: Twilio reads an empty parameter as no
      value (it is how a field is cleared, e.g. `VoiceUrl=` on a phone number), and so does the stand-in
      (params.form), so `StatusCallback=` or `StartTime>=` is accepted where the description's
      format (uri, date-time) would refuse the empty string."""
    kind = type(failure).__name__
    if kind == "RejectedPositiveData" and response.status_code == 400:
        refusal = STATE_REFUSALS.get((case.method.upper(), case.path.removeprefix(PREFIX)))
        try:
            body = json.loads(response.content)
        except ValueError:
            return True
        return not (refusal and body.get("code") == refusal[0] and refusal[1] in body.get("message", ""))
    if kind == "AcceptedNegativeData":
        values = negated_values(case)
        return not (values and all(value == "" or value == [""] for value in values))
    return True


class NoFetch(requests.Session):
    """The simulator's HTTP session here: nothing is fetched. The generated Urls (`https://0.com`,
    `http://localhost:8150/…`) name servers that are not this test's; each fails as an unreachable
    URL does on Twilio (the call goes to its fallback, or fails)."""

    def request(self, method, url, *args, **kwargs):
        raise requests.ConnectionError(f"not fetched in this test: {url}")


class LocalSimulator(Simulator):
    def http_session(self) -> requests.Session:
        return NoFetch()


ENQUEUE = '<Response><Enqueue waitUrl="">support</Enqueue></Response>'
SAY = "<Response><Say>hi</Say></Response>"
# Three conferences: `standup` in progress (a labelled customer and an agent), `lobby` waiting for its
# host (init), `over` ended over REST.
CONFERENCES = {"+14155550104": '<Conference participantLabel="customer">standup</Conference>',
               "+14155550105": "<Conference>standup</Conference>",
               "+14155550106": '<Conference startConferenceOnEnter="false" waitUrl="">lobby</Conference>',
               "+14155550107": "<Conference>over</Conference>"}


@pytest.fixture
def world():
    """A world to probe, new for each operation: an ended call with a recording, two callers
    waiting in the queue `support` (live calls) and the CONFERENCES, with the stand-in over it."""
    sim = LocalSimulator(ACCOUNT_SID, AUTH_TOKEN, time_scale=0.02, webhook_timeout=1)
    for number in ("+14155550101", "+14155550102", "+14155550103"):
        sim.phone(number, answer_after=0.0)
    for number in CONFERENCES:
        sim.phone(number, answer_after=0.0, talk_for=None)
    done = sim.create_call("+14155550101", FROM, twiml=SAY)
    waiting = [sim.create_call(number, FROM, twiml=ENQUEUE) for number in ("+14155550102", "+14155550103")]
    wait_until(lambda: done.ended, what="the first call to end")
    recording = sim.add_recording(done, 3)
    queue = wait_until(lambda: sim.queue_named("support", create=False), what="the queue")
    wait_until(lambda: len(queue.members) == 2, what="two callers in the queue")
    rooms = conference_rooms(sim)
    ROOM_OF.update({name: room.sid for room in rooms.values() for p in room.connected()
                    for name in (p.call_sid, p.label) if name})
    KNOWN.update(CA=[done.sid] + [c.sid for c in waiting], QU=[queue.sid], RE=[recording["sid"]],
                 CF=[room.sid for room in rooms.values()], ROOM=[rooms["standup"].sid, "standup", "lobby"],
                 PARTICIPANT=list(ROOM_OF))
    WORLD.app = make_app(sim)
    yield sim
    WORLD.app = None
    KNOWN.update(CA=[], QU=[], RE=[], CF=[], ROOM=[], PARTICIPANT=[])
    ROOM_OF.clear()
    sim.shutdown()


def conference_rooms(sim) -> dict:
    """The CONFERENCES, once their calls joined (and `over` ended), by name."""
    for number, noun in CONFERENCES.items():
        sim.create_call(number, FROM, twiml=f"<Response><Dial>{noun}</Dial></Response>")
    registry = conferences(sim)
    rooms = {name: wait_until(lambda name=name: registry.live_named(name), what=f"the room {name}")
             for name in ("standup", "lobby", "over")}
    wait_until(lambda: len(rooms["standup"].connected()) == 2 and rooms["lobby"].connected()
               and rooms["over"].connected(), what="the conferences' participants to join")
    rooms["over"].end()
    return rooms


@schema.parametrize()
# One world per operation, not per request, on purpose: an operation's requests act on the same
# calls and queue, as a client's do.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_stand_in_answers_as_twilio_documents(case, world):
    case.call_and_validate()


def test_the_run_covers_exactly_the_served_operations():
    assert sorted(result.ok().label for result in schema.get_all_operations()) == sorted(LABELS)
