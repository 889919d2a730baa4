"""The Recordings resources over HTTP: the account's list and instances, a
call's recordings, and the media (silence of the recording's length) that
`RecordingUrl` points at. Media needs no auth, as on Twilio by default."""
from __future__ import annotations

from flask import Response, request

from .calls import find_call
from .errors import not_found
from .formats import silent_mp3, silent_wav
from .params import reply
from .serializers import call_recording_resource, recording_resource


def register(api) -> None:
    sim = api.sim

    def records(call_sid: str | None = None) -> list[dict]:
        found = [r for r in list(sim.recordings.values()) if call_sid is None or r["call_sid"] == call_sid]
        found.reverse()                    # newest first
        return found

    @api.route("Recordings", ("GET",))
    def recordings():
        call_sid = request.args.get("CallSid")
        view = api.view()
        rows = [recording_resource(r, view) for r in records(call_sid)]
        return api.page("recordings", rows, "Recordings.json", {"CallSid": call_sid})

    # Without the suffix `Recordings/{Sid}` is the media (below), so only `.json` is the resource.
    @api.route("Recordings/<sid:sid>", ("GET",), json_only=True)
    def recording_instance(sid: str):
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
        return api.page("recordings", rows, f"Calls/{call_sid}/Recordings.json")

    @api.route("Calls/<sid:call_sid>/Recordings/<sid:sid>", ("GET",))
    def call_recording_instance(call_sid: str, sid: str):
        # The instance a call recording's `uri` names (Twilio's CallRecording fetch).
        find_call(sim, call_sid)
        record = sim.recordings.get(sid)
        if record is None or record["call_sid"] != call_sid:
            raise not_found()
        return reply(call_recording_resource(record, api.view()))
