"""The Conferences resource and its Participants over HTTP, as twilio_api_v2010.json describes
them: list (`FriendlyName`, `Status`, `DateCreated`/`DateUpdated` with `<` and `>`), fetch and
update conferences (`Status=completed` ends one, `AnnounceUrl` is logged); list (`Muted`, `Hold`,
`Coaching`), create, fetch, update (`Hold` + `HoldUrl`, `Muted`, `Coaching` + `CallSidToCoach`,
`AnnounceUrl`, `BeepOnExit`, `EndConferenceOnExit`, `WaitUrl`) and delete (remove) participants.

Creating a participant dials `To` (a number or `client:identity`) from `From` and, once it
answers, joins the call to the conference with the given options, as Twilio's "Participants
create" does: the call runs `<Dial><Conference …>` with them. The path may name the conference
by its FriendlyName instead of its SID: a live room of that name, or a new one (Twilio allows
this for create). A `CallSidToCoach` without `Coaching` makes the participant coach ("defaults to
`false` unless `call_sid_to_coach` is defined"); `Coaching=true` needs one, in the request or, on an
update, from an earlier one. The event names of every `…Event` parameter are checked (400 20001),
the recording ones too, though nothing is recorded. The rooms are `twiliosim.conferences`; the JSON
is `serializers.py`'s."""
from __future__ import annotations

import re
import threading
import time
import xml.etree.ElementTree as ET

from flask import Response, request
from werkzeug.routing import BaseConverter

from ..conferences import TWIML_EVENTS, Participant, conferences
from .calls import CALL_EVENTS, events_param
from .errors import bad, not_found
from .params import bool_param, check_kinds, date_param, form, int_param, method_param, reply
from .serializers import conference_resource, participant_resource

STATUSES = ("init", "in-progress", "completed")
DATE_FILTERS = tuple((f"{name}{suffix}", attr, test)
                     for name, attr in (("DateCreated", "created"), ("DateUpdated", "updated"))
                     for suffix, test in (("", lambda a, b: a == b), ("<", lambda a, b: a <= b),
                                          (">", lambda a, b: a >= b)))
BEEPS = ("true", "false", "onEnter", "onExit")
# The recording events a participant's create may name, as Twilio documents them (not acted on here).
RECORDING_EVENTS = ("started", "in-progress", "paused", "resumed", "stopped", "completed", "failed", "absent")
CONFERENCE_RECORDING_EVENTS = ("in-progress", "completed", "failed", "absent")
# The kinds of the create parameters Twilio's description types (params.check_kinds), used or not.
CREATE_KINDS = {
    **dict.fromkeys(("Record", "Muted", "StartConferenceOnEnter", "EndConferenceOnExit", "EarlyMedia", "Coaching"),
                    "bool"),
    **dict.fromkeys(("Timeout", "MaxParticipants", "TimeLimit", "MachineDetectionTimeout",
                     "MachineDetectionSpeechThreshold", "MachineDetectionSpeechEndThreshold",
                     "MachineDetectionSilenceTimeout"), "int"),
    **dict.fromkeys(("StatusCallback", "WaitUrl", "ConferenceStatusCallback", "RecordingStatusCallback",
                     "ConferenceRecordingStatusCallback", "AmdStatusCallback", "ClientNotificationUrl"), "url"),
    **dict.fromkeys(("StatusCallbackMethod", "WaitMethod", "ConferenceStatusCallbackMethod",
                     "RecordingStatusCallbackMethod", "ConferenceRecordingStatusCallbackMethod",
                     "AmdStatusCallbackMethod"), "method"),
    "CallSidToCoach": "sid:CA", "Byoc": "sid:BY"}
UPDATE_KINDS = {**dict.fromkeys(("Muted", "Hold", "BeepOnExit", "EndConferenceOnExit", "Coaching"), "bool"),
                **dict.fromkeys(("HoldUrl", "AnnounceUrl", "WaitUrl"), "url"),
                **dict.fromkeys(("HoldMethod", "AnnounceMethod", "WaitMethod"), "method"),
                "CallSidToCoach": "sid:CA"}
ENDPOINT = re.compile(r"(client:[A-Za-z0-9_.@-]+|sip:.+|\+?[0-9]{3,15})")


def _noun_twiml(name: str, attrs: dict[str, str]) -> str:
    response = ET.Element("Response")
    noun = ET.SubElement(ET.SubElement(response, "Dial"), "Conference", {k: v for k, v in attrs.items() if v})
    noun.text = name
    return ET.tostring(response, encoding="unicode")


class LabelConverter(BaseConverter):
    regex = r"[^/.]+"        # a CallSid or a participant's Label; no dots: `….json` is the suffix


def register(api) -> None:
    sim = api.sim
    api.app.url_map.converters["label"] = LabelConverter

    def find_room(sid: str):
        room = conferences(sim).by_sid(sid)
        if room is None:
            raise not_found()
        return room

    def find_participant(room, who: str):
        participant = room.participant(who)
        if participant is None:
            raise not_found()
        return participant

    @api.route("Conferences", ("GET",))
    def conference_list():
        name, status = request.args.get("FriendlyName"), request.args.get("Status")
        if status and status not in STATUSES:
            raise bad(20001, f"Invalid parameter: Status must be one of {', '.join(STATUSES)}, not {status!r}")
        dates = {key: date_param(key) for key, _, _ in DATE_FILTERS}
        view = api.view()
        with conferences(sim).lock:
            rooms = list(conferences(sim).rooms.values())
        rows = []
        for room in reversed(rooms):                    # newest first
            if name and room.name != name or status and room.status != status:
                continue
            day = {attr: time.gmtime(view.wall(getattr(room, attr)))[:3] for attr in ("created", "updated")}
            if any(dates[key] is not None and not test(day[attr], dates[key].timetuple()[:3])
                   for key, attr, test in DATE_FILTERS):
                continue
            rows.append(conference_resource(room, view))
        echoed = {"FriendlyName": name, "Status": status,
                  **{key: request.args.get(key) for key, _, _ in DATE_FILTERS}}
        return api.page("conferences", rows, "Conferences.json", echoed)

    @api.route("Conferences/<sid:sid>", ("GET", "POST"))
    def conference_instance(sid: str):
        room = find_room(sid)
        if request.method == "GET":
            return reply(conference_resource(room, api.view()))
        status = form("Status")
        if status is not None and status != "completed":
            raise bad(20001, f"Invalid parameter: Status must be completed, not {status!r}")
        check_kinds(request.form, {"AnnounceUrl": "url", "AnnounceMethod": "method"})
        method_param("AnnounceMethod")
        if form("AnnounceUrl"):
            room.log("announcement", url=form("AnnounceUrl"))
            for p in room.connected():
                p.call.log("announcement", conference=room.name, url=form("AnnounceUrl"))
        if status == "completed":
            room.end("conference-ended-via-api")
        return reply(conference_resource(room, api.view()))

    @api.route("Conferences/<conference>/Participants", ("GET", "POST"))
    def participant_list(conference: str):
        if request.method == "POST":
            return create_participant(conference)
        room = find_room(conference)
        wanted = {key: bool_param(request.args, key) for key in ("Muted", "Hold", "Coaching")}
        view = api.view()
        with room.lock:
            every = list(room.participants.values())
        rows = [participant_resource(room, p, view) for p in every
                if all(v is None or getattr(p, key.lower()) == v for key, v in wanted.items())]
        echoed = {key: request.args.get(key) for key in wanted}
        return api.page("participants", rows, f"Conferences/{room.sid}/Participants.json", echoed)

    def create_participant(conference: str):
        to, from_ = form("To"), form("From")
        if not to:
            raise bad(21201, "No 'To' number is specified")
        if not from_:
            raise bad(21213, "No 'From' number is specified")
        if not ENDPOINT.fullmatch(to):
            raise bad(21211, f"Invalid 'To' Phone Number: {to}")
        check_kinds(request.form, CREATE_KINDS)
        for name in ("StatusCallbackMethod", "WaitMethod", "ConferenceStatusCallbackMethod"):
            method_param(name)
        events = events_param("StatusCallbackEvent", CALL_EVENTS)
        conference_events = events_param("ConferenceStatusCallbackEvent", TWIML_EVENTS)
        events_param("RecordingStatusCallbackEvent", RECORDING_EVENTS)
        events_param("ConferenceRecordingStatusCallbackEvent", CONFERENCE_RECORDING_EVENTS)
        timeout = int_param(request.form, "Timeout", 60, 5, 600)
        int_param(request.form, "MaxParticipants", 250, 2, 250)
        beep = form("Beep", "true")
        if beep not in BEEPS:
            raise bad(20001, f"Invalid parameter: Beep must be one of {', '.join(BEEPS)}")
        coaching, coach = coaching_params()
        if coaching and not coach:
            raise bad(20001, "Invalid parameter: CallSidToCoach is required when Coaching is true")
        registry = conferences(sim)
        with registry.lock:
            room = registry.by_sid(conference) if conference.startswith("CF") else registry.room_named(conference)
            if room is None or room.status == "completed":
                raise not_found()
            attrs = {"muted": form("Muted", "").lower(), "beep": beep,
                     "startConferenceOnEnter": form("StartConferenceOnEnter", "").lower(),
                     "endConferenceOnExit": form("EndConferenceOnExit", "").lower(),
                     "waitUrl": form("WaitUrl"), "waitMethod": form("WaitMethod"),
                     "statusCallback": form("ConferenceStatusCallback"),
                     "statusCallbackMethod": form("ConferenceStatusCallbackMethod"),
                     "statusCallbackEvent": " ".join(conference_events),
                     "coach": coach if coaching else None, "participantLabel": form("Label"),
                     "maxParticipants": form("MaxParticipants")}
            if request.form.get("WaitUrl") == "":
                attrs["waitUrl"] = None
            call = sim.create_call(to, from_, twiml=_noun_twiml(room.name, attrs),
                                   status_callback=form("StatusCallback"), status_events=tuple(events) or ("completed",),
                                   timeout=timeout)
            participant = Participant(call, muted=attrs["muted"] == "true", beep=beep,
                                      start_on_enter=attrs["startConferenceOnEnter"] != "false",
                                      end_on_exit=attrs["endConferenceOnExit"] == "true",
                                      coaching=bool(coaching), call_sid_to_coach=coach if coaching else None,
                                      label=form("Label"))
            room.expect(participant)
            registry.expected[call.sid] = room
        threading.Thread(target=_drop_if_unanswered, args=(registry, room, participant), daemon=True,
                         name=f"participant-{call.sid[:10]}").start()
        return reply(participant_resource(room, participant, api.view()), 201)

    @api.route("Conferences/<sid:sid>/Participants/<label:who>", ("GET", "POST", "DELETE"))
    def participant_instance(sid: str, who: str):
        room = find_room(sid)
        participant = find_participant(room, who)
        if request.method == "GET":
            return reply(participant_resource(room, participant, api.view()))
        if request.method == "DELETE":
            room.leave(participant.call_sid, "participant_removed_via_api", "in-progress")
            return Response(status=204)
        check_kinds(request.form, UPDATE_KINDS)
        for name in ("HoldMethod", "AnnounceMethod", "WaitMethod"):
            method_param(name)
        coaching, coach = coaching_params()
        if coaching and not (coach or participant.call_sid_to_coach):
            raise bad(20001, "Invalid parameter: CallSidToCoach is required when Coaching is true")
        updated = room.update(
            participant.call_sid, muted=bool_param(request.form, "Muted"), hold=bool_param(request.form, "Hold"),
            hold_url=form("HoldUrl"),
            hold_method=form("HoldMethod", "GET").upper() if form("HoldMethod") else None,
            coaching=coaching, call_sid_to_coach=coach, end_on_exit=bool_param(request.form, "EndConferenceOnExit"),
            beep_on_exit=bool_param(request.form, "BeepOnExit"),
            wait_url=form("WaitUrl"),
            wait_method=form("WaitMethod", "POST").upper() if form("WaitMethod") else None,
            announce_url=form("AnnounceUrl"))
        if updated is None:
            raise not_found()
        return reply(participant_resource(room, updated, api.view()))


def coaching_params() -> tuple[bool | None, str | None]:
    """`Coaching` and `CallSidToCoach` of a create or update: "If not present, [Coaching] defaults to
    `false` unless `call_sid_to_coach` is defined", so a CallSidToCoach alone sets the participant coaching."""
    coaching, coach = bool_param(request.form, "Coaching"), form("CallSidToCoach")
    return (True if coaching is None and coach else coaching), coach


def _drop_if_unanswered(registry, room, participant) -> None:
    """A dialed participant whose call ends before it joins (busy, no answer) leaves the list."""
    call = participant.call
    while not call.ended and room.participants.get(call.sid) is participant:
        time.sleep(0.02)
    if room.participants.get(call.sid) is participant:
        with registry.lock:
            registry.expected.pop(call.sid, None)
        room.leave(call.sid, "participant_hung_up", call.status)
