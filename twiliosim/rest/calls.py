"""The Calls resource over HTTP: list and create (`Calls.json`), fetch, update
and delete (`Calls/{Sid}.json`): parameter checks with Twilio's error codes,
then the Simulator's `create_call` / `update_call`. The JSON is `serializers.py`'s.

The list takes Twilio's filters (`To`, `From`, `ParentCallSid`, `Status`, and the
dates `StartTime`, `EndTime` with their `<` on-or-before and `>` on-or-after forms)
and pages with `PageToken`, as `GET Calls.json` is described in twilio_api_v2010.json."""
from __future__ import annotations

import re
from datetime import date, timezone
from email.utils import parsedate_to_datetime

from flask import Response, request

from ..outcomes import CallEnded
from .errors import TwilioError, bad, not_found
from .params import check_kinds, date_param, form, int_param, method_param, page_params, reply
from .serializers import BadPageToken, accepted_call_resource, call_resource, token_page_body

# The list filters: query parameter -> field of the call's JSON.
FILTERS = (("To", "to"), ("From", "from"), ("Status", "status"), ("ParentCallSid", "parent_call_sid"))
# Twilio's call statuses (call_enum_status), the values `Status` may filter on.
STATUSES = ("queued", "ringing", "in-progress", "canceled", "completed", "failed", "busy", "no-answer")
# The date filters: query parameter -> (field of the call's JSON, how the call's UTC date must compare).
DATE_FILTERS = tuple((f"{name}{suffix}", field, test)
                     for name, field in (("StartTime", "start_time"), ("EndTime", "end_time"))
                     for suffix, test in (("", date.__eq__), ("<", date.__le__), (">", date.__ge__)))
# The kinds of the parameters Twilio's description types (params.check_kinds), whether the simulator
# acts on them or not (ApplicationSid, Byoc, answering machine detection, recording, TimeLimit: not).
CREATE_KINDS = {"ApplicationSid": "sid:AP", "Byoc": "sid:BY", "Record": "bool",
                **dict.fromkeys(("Url", "FallbackUrl", "StatusCallback", "AsyncAmdStatusCallback",
                                 "ClientNotificationUrl"), "url"),
                **dict.fromkeys(("Method", "FallbackMethod", "StatusCallbackMethod", "RecordingStatusCallbackMethod",
                                 "AsyncAmdStatusCallbackMethod"), "method"),
                **dict.fromkeys(("TimeLimit", "MachineDetectionTimeout", "MachineDetectionSpeechThreshold",
                                 "MachineDetectionSpeechEndThreshold", "MachineDetectionSilenceTimeout"), "int")}
UPDATE_KINDS = {"Url": "url", "FallbackUrl": "url", "StatusCallback": "url", "Method": "method",
                "FallbackMethod": "method", "StatusCallbackMethod": "method", "TimeLimit": "int"}
# The events StatusCallbackEvent and RecordingStatusCallbackEvent may name, as Twilio documents them.
CALL_EVENTS = ("initiated", "ringing", "answered", "completed")
RECORDING_EVENTS = ("in-progress", "completed", "absent")


def events_param(name: str, allowed: tuple[str, ...]) -> list[str]:
    """The events of a repeated (or space- or comma-separated) parameter; one Twilio does not know is 400 20001."""
    events: list[str] = []
    for value in request.form.getlist(name):
        events.extend(value.replace(",", " ").split())
    unknown = [event for event in events if event not in allowed]
    if unknown:
        raise bad(20001, f"Invalid parameter: {name} must name events of {', '.join(allowed)}, not {unknown[0]!r}")
    return events


def find_call(sim, sid: str, deleted: set[str] | frozenset[str] = frozenset()):
    """The call `sid`, or 404 (also for a record in `deleted`, the ones DELETEd over REST)."""
    call = sim.calls.get(sid)
    if call is None or sid in deleted:
        raise not_found()
    return call


def utc_date(rfc2822: str | None) -> date | None:
    return None if rfc2822 is None else parsedate_to_datetime(rfc2822).astimezone(timezone.utc).date()


def register(api) -> None:
    sim = api.sim

    @api.route("Calls", ("GET", "POST"))
    def calls():
        if request.method == "GET":
            return list_calls()
        return create_call()

    def list_calls():
        wanted = {key: request.args.get(key) for key, _ in FILTERS}
        check_kinds(request.args, {"ParentCallSid": "sid:CA"})
        if wanted["Status"] and wanted["Status"] not in STATUSES:
            raise bad(20001, f"Invalid parameter: Status must be one of {', '.join(STATUSES)}, "
                             f"not {wanted['Status']!r}")
        dates = {key: date_param(key) for key, _, _ in DATE_FILTERS}
        number, size = page_params()
        with sim._lock:
            every = list(sim.calls.values())
        position = {c.sid: i for i, c in enumerate(every)}        # creation order, for PageToken
        view = api.view()
        rows = [call_resource(c, view) for c in every if c.sid not in api.deleted_calls]
        for key, field in FILTERS:
            if wanted[key]:
                rows = [r for r in rows if r[field] == wanted[key]]
        for key, field, test in DATE_FILTERS:
            if dates[key] is not None:
                rows = [r for r in rows if r[field] is not None and test(utc_date(r[field]), dates[key])]
        rows.reverse()                     # newest first, as Twilio lists calls
        echoed = {**wanted, **{key: request.args.get(key) for key, _, _ in DATE_FILTERS}}
        try:
            body = token_page_body("calls", rows, view.uri("Calls.json"), number, size, echoed,
                                   request.args.get("PageToken"), position)
        except BadPageToken:
            raise bad(20001, "Invalid parameter: PageToken") from None
        return reply(body)

    def create_call():
        to, from_ = form("To"), form("From")
        if not to:
            raise bad(21201, "No 'To' number is specified")
        if not from_:
            raise bad(21213, "No 'From' number is specified")
        if not (to.startswith(("client:", "sip:")) or re.fullmatch(r"\+?[0-9]{3,15}", to)):
            raise bad(21211, f"Invalid 'To' Phone Number: {to}")
        url, twiml = form("Url"), form("Twiml")
        if not (url or twiml):
            raise bad(21205, "Url parameter is required.")
        method = method_param()
        check_kinds(request.form, CREATE_KINDS)
        events = events_param("StatusCallbackEvent", CALL_EVENTS)
        events_param("RecordingStatusCallbackEvent", RECORDING_EVENTS)
        timeout = int_param(request.form, "Timeout", 60, 1, 600)
        call = sim.create_call(to, from_, url=url, twiml=None if url else twiml, method=method,
                               status_callback=form("StatusCallback"),
                               status_events=tuple(events) or ("completed",), timeout=timeout,
                               fallback_url=form("FallbackUrl"))
        return reply(accepted_call_resource(call, api.view()), 201)

    @api.route("Calls/<sid:sid>", ("GET", "POST", "DELETE"))
    def call_instance(sid: str):
        call = find_call(sim, sid, api.deleted_calls)
        if request.method == "GET":
            return reply(call_resource(call, api.view()))
        if request.method == "DELETE":
            return delete_call(call)
        return update_call(call)

    def delete_call(call):
        """Twilio deletes only the records of ended calls; a live one is refused (20009) and
        keeps going. Deleted, the record is gone from the API: fetch, update and list."""
        if not call.ended:
            raise TwilioError(400, 20009, "Cannot delete this resource before it is complete")
        api.deleted_calls.add(call.sid)
        return Response(status=204)

    def update_call(call):
        status = form("Status")
        if status is not None and status not in ("completed", "canceled"):
            raise bad(20001, f"Invalid parameter: Status must be completed or canceled, not {status!r}")
        url, twiml = form("Url"), form("Twiml")
        method = method_param()
        check_kinds(request.form, UPDATE_KINDS)
        not_live = bad(21220, "Call is not in-progress. Cannot redirect.")
        if call.ended:
            raise not_live
        if status == "canceled" and call.status == "in-progress":
            return reply(call_resource(call, api.view()))      # `canceled` only ends queued or ringing calls
        if status is None and (url or twiml) and call.status != "in-progress":
            raise not_live
        if form("FallbackUrl"):
            call.fallback_url = form("FallbackUrl")
        if form("StatusCallback"):
            call.status_callback = form("StatusCallback")
        try:
            sim.update_call(call.sid, url=url, method=method, twiml=None if url else twiml, status=status)
        except KeyError:
            raise not_found() from None
        except CallEnded:
            raise not_live from None
        return reply(call_resource(call, api.view()))
