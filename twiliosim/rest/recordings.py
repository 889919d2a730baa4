"""The Recordings resources over HTTP: the account's list and instances, a
call's recordings, and the media (silence of the recording's length) that
`RecordingUrl` points at. Media needs no auth, as on Twilio by default."""
from __future__ import annotations

from datetime import date, timezone

from flask import Response, request

from .calls import find_call
from .errors import not_found
from .formats import silent_mp3, silent_wav
from .params import check_kinds, date_param, reply
from .serializers import call_recording_resource, recording_resource

# `DateCreated` (that UTC date), `DateCreated<` (on or before) and `DateCreated>` (on or after), as the
# description documents both recording lists' filters.
DATE_FILTERS = (("DateCreated", date.__eq__), ("DateCreated<", date.__le__), ("DateCreated>", date.__ge__))
# ConferenceSid and IncludeSoftDeleted filter nothing here (no conferences, nothing soft-deleted), but
# are checked as Twilio checks them.
LIST_KINDS = {"CallSid": "sid:CA", "ConferenceSid": "sid:CF", "IncludeSoftDeleted": "bool"}


def register(api) -> None:
    sim = api.sim

    def records(call_sid: str | None = None) -> list[dict]:
        """The recordings (of `call_sid`'s call, if given) the request's DateCreated filters keep, newest first."""
        dates = [(date_param(name), test) for name, test in DATE_FILTERS]
        found = [r for r in list(sim.recordings.values()) if call_sid is None or r["call_sid"] == call_sid]
        for wanted, test in dates:
            if wanted is not None:
                found = [r for r in found if test(r["date_created"].astimezone(timezone.utc).date(), wanted)]
        found.reverse()                    # newest first
        return found

    def filters() -> dict[str, str | None]:
        return {name: request.args.get(name) for name, _ in DATE_FILTERS}

    @api.route("Recordings", ("GET",))
    def recordings():
        check_kinds(request.args, LIST_KINDS)
        call_sid = request.args.get("CallSid")
        view = api.view()
        rows = [recording_resource(r, view) for r in records(call_sid)]
        return api.page("recordings", rows, "Recordings.json", {"CallSid": call_sid, **filters()})

    # Without the suffix `Recordings/{Sid}` is the media (below), so only `.json` is the resource.
    @api.route("Recordings/<sid:sid>", ("GET",), json_only=True)
    def recording_instance(sid: str):
        check_kinds(request.args, {"IncludeSoftDeleted": "bool"})
        record = sim.recordings.get(sid)
        if record is None:
            raise not_found()
        return reply(recording_resource(record, api.view()))

    def media_record(account_sid: str, sid: str) -> dict:
        record = sim.recordings.get(sid)
        if record is None or account_sid != sim.account_sid:
            raise not_found()
        return record

    @api.media("Recordings/<sid:sid>")
    @api.media("Recordings/<sid:sid>.wav")
    def recording_wav(account_sid: str, sid: str):
        return Response(silent_wav(media_record(account_sid, sid)["duration"]), mimetype="audio/x-wav")

    @api.media("Recordings/<sid:sid>.mp3")
    def recording_mp3(account_sid: str, sid: str):
        return Response(silent_mp3(media_record(account_sid, sid)["duration"]), mimetype="audio/mpeg")

    @api.route("Calls/<sid:call_sid>/Recordings", ("GET",))
    def call_recordings(call_sid: str):
        find_call(sim, call_sid)
        view = api.view()
        rows = [call_recording_resource(r, view) for r in records(call_sid)]
        return api.page("recordings", rows, f"Calls/{call_sid}/Recordings.json", filters())

    @api.route("Calls/<sid:call_sid>/Recordings/<sid:sid>", ("GET",))
    def call_recording_instance(call_sid: str, sid: str):
        # The instance a call recording's `uri` names (Twilio's CallRecording fetch).
        find_call(sim, call_sid)
        record = sim.recordings.get(sid)
        if record is None or record["call_sid"] != call_sid:
            raise not_found()
        return reply(call_recording_resource(record, api.view()))
