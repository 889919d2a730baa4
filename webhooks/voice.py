"""Twilio voice webhooks: check the signature, read the form, call the IVR, answer TwiML.

Entry points (CONTRACT): /voice/incoming, /voice/status, /voice/fallback.
Every other /voice/<step>?node=<node> URL is reached only through our TwiML.
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, request

from ivr import twiml
from ivr.calls import IvrCalls, Params

from .signature import is_valid

bp = Blueprint("voice", __name__, url_prefix="/voice")
MAX_PARAM_CHARS = 8192   # Twilio's own parameters are short; speech is cut in the engine


@bp.before_request
def require_twilio_signature():
    settings = current_app.extensions["callrouter"].settings
    if not is_valid(request, settings.twilio_auth_token, settings.public_url):
        abort(403, "invalid or missing X-Twilio-Signature")


def _xml(body: str) -> Response:
    return Response(body, mimetype="text/xml")


def _form(name: str) -> str | None:
    value = request.form.get(name)
    return value[:MAX_PARAM_CHARS] if value is not None else None


def _params(*required: str) -> Params:
    missing = [name for name in required if not request.form.get(name)]
    if missing:
        abort(400, f"missing Twilio parameter(s): {', '.join(missing)}")
    return Params(call_sid=_form("CallSid"), from_number=_form("From") or "", to_number=_form("To") or "",
                  digits=_form("Digits"), speech=_form("SpeechResult"), confidence=_form("Confidence"))


def _node() -> str:
    node = request.args.get("node", "")
    if not node:
        abort(400, "missing node in the URL")
    return node[:64]


def _ivr() -> IvrCalls:
    return current_app.extensions["callrouter_ivr"]


@bp.post("/incoming")
def incoming():
    return _xml(_ivr().incoming(_params("CallSid", "From", "To")))


@bp.post("/gather")
def gather():
    return _xml(_ivr().gather(_params("CallSid", "From", "To"), _node()))


@bp.post("/wait")
def wait():
    return _xml(_ivr().hold(_params("CallSid"), _node(), _form("QueuePosition")))


@bp.post("/queued")
def queued():
    return _xml(_ivr().queued(_params("CallSid", "From", "To"), _node(), _form("QueueResult")))


@bp.post("/recorded")
def recorded():
    return _xml(_ivr().recorded(_params("CallSid", "From", "To"), _node(),
                                _form("RecordingUrl"), _form("RecordingDuration")))


@bp.post("/transcribed")
def transcribed():
    return _xml(_ivr().transcribed(_params("CallSid"), _node(), _form("TranscriptionText"),
                                   _form("TranscriptionStatus")))


@bp.post("/dialed")
def dialed():
    return _xml(_ivr().dialed(_params("CallSid", "From", "To"), _node(), _form("DialCallStatus")))


@bp.post("/status")
def status():
    p = _params("CallSid", "CallStatus")
    _ivr().status(p.call_sid, _form("CallStatus"), _form("CallDuration"))
    return Response(status=204)


@bp.post("/fallback")
def fallback():
    # Twilio comes here when the service failed: touch neither Redis nor SQL.
    return _xml(twiml.fallback())
