"""The Calls resource over HTTP: list and create (`Calls.json`), fetch and
update (`Calls/{Sid}.json`): parameter checks with Twilio's error codes, then
the Simulator's `create_call` / `update_call`. The JSON is `serializers.py`'s."""
from __future__ import annotations

import re

from flask import request

from ..outcomes import CallEnded
from .errors import bad, not_found
from .params import form, int_param, method_param, reply
from .serializers import accepted_call_resource, call_resource

# The list filters: query parameter -> field of the call's JSON.
FILTERS = (("To", "to"), ("From", "from"), ("Status", "status"), ("ParentCallSid", "parent_call_sid"))


def find_call(sim, sid: str):
    call = sim.calls.get(sid)
    if call is None:
        raise not_found()
    return call


def register(api) -> None:
    sim = api.sim

    @api.route("Calls", ("GET", "POST"))
    def calls():
        if request.method == "GET":
            return list_calls()
        return create_call()

    def list_calls():
        wanted = {key: request.args.get(key) for key, _ in FILTERS}
        with sim._lock:
            every = list(sim.calls.values())
        view = api.view()
        rows = [call_resource(c, view) for c in every]
        for key, field in FILTERS:
            if wanted[key]:
                rows = [r for r in rows if r[field] == wanted[key]]
        rows.reverse()                     # newest first, as Twilio lists calls
        return api.page("calls", rows, "Calls.json", wanted)

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
        events: list[str] = []
        for value in request.form.getlist("StatusCallbackEvent"):
            events.extend(value.replace(",", " ").split())
        timeout = int_param(request.form, "Timeout", 60, 1, 600)
        call = sim.create_call(to, from_, url=url, twiml=None if url else twiml, method=method,
                               status_callback=form("StatusCallback"),
                               status_events=tuple(events) or ("completed",), timeout=timeout,
                               fallback_url=form("FallbackUrl"))
        return reply(accepted_call_resource(call, api.view()), 201)

    @api.route("Calls/<sid:sid>", ("GET", "POST"))
    def call_instance(sid: str):
        call = find_call(sim, sid)
        if request.method == "GET":
            return reply(call_resource(call, api.view()))
        return update_call(call)

    def update_call(call):
        status = form("Status")
        if status is not None and status not in ("completed", "canceled"):
            raise bad(20001, f"Invalid parameter: Status must be completed or canceled, not {status!r}")
        url, twiml = form("Url"), form("Twiml")
        method = method_param()
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
