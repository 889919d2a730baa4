"""Twilio voice webhooks: check the signature, read the form, call the IVR, answer TwiML.

Entry points (CONTRACT): /voice/incoming, /voice/status, /voice/fallback.
Every other /voice/<step>?node=<node> URL is reached only through our TwiML.

Whatever fails behind a step (Redis unreachable or hung, SQL, a bug, a refusal) the caller gets TwiML:
the config's `when_down` answer (an apology, then a backup number or a goodbye), never an error
page that Twilio would read out as an application error. Only a bad signature (403) and missing
Twilio parameters (400) answer otherwise.
"""
from __future__ import annotations

import logging
import threading
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.test import EnvironBuilder

from contactcenter.checker import e164_problem
from ivr import twiml
from ivr.calls import IvrCalls, Params
from ivr.connect import CALLBACK_MISSED

from .deps import now, services
from .signature import is_valid

bp = Blueprint("voice", __name__, url_prefix="/voice")
log = logging.getLogger(__name__)
MAX_PARAM_CHARS = 8192   # Twilio's own parameters are short; speech is cut in the engine
# Legs that belong to a caller's call (fallback, agent's leg, callback's status) leave no record of their own.
NOT_A_CALL_OF_ITS_OWN = frozenset({"/voice/fallback", "/voice/agent-leg", "/voice/callback-status", "/voice/number-leg",
                                   "/voice/monitor-leg", "/voice/conference", "/voice/on-hold"})
# Wait documents of a conference (waitUrl, HoldUrl) may hold only Play, Say, Pause and Redirect: when
# one fails, the caller keeps waiting in silence a moment (their agent or their hold is still there).
WAIT_DOCUMENTS = frozenset({"/voice/connect-wait", "/voice/on-hold"})
# Steps whose answer depends on nothing but their URL and the call: when Twilio gave up on one (too
# slow, the connection lost) the fallback asks for it again, a repeat each of them takes in its stride,
# so an answer lost on the way costs the caller a moment, not their agent.
REPLAYED = frozenset({"/voice/connect", "/voice/after-talk", "/voice/requeue", "/voice/transferred",
                      "/voice/overflow", "/voice/callback-missed"})


@bp.before_request
def require_twilio_signature():
    settings = services().settings
    if not is_valid(request, settings.twilio_auth_token, settings.public_url):
        abort(403, "invalid or missing X-Twilio-Signature")


def _xml(body: str) -> Response:
    return Response(body, mimetype="text/xml")


def _when_down() -> Response:
    """The config's answer for when the router is down; it needs neither Redis nor SQL."""
    try:
        plan = services().cc.when_down
    except Exception:  # noqa: BLE001 - the apology must come out whatever is broken
        log.exception("no when_down plan; the default apology instead")
        return _xml(twiml.fallback())
    return _xml(twiml.when_down(plan))


@bp.errorhandler(Exception)
def failed(exc: Exception):
    if isinstance(exc, HTTPException):
        # 403 (signature), 400 (missing parameters) and the like: as the app answers them elsewhere
        return jsonify(error=exc.description or exc.name), exc.code
    if request.path in WAIT_DOCUMENTS:
        log.exception("%s failed for call %s; the caller waits a moment", request.path, _call_sid())
        return _xml(twiml.pause(2))
    log.exception("%s failed for call %s; answering with when_down", request.path, _call_sid())
    _leave_a_trace()
    return _when_down()


def _leave_a_trace() -> None:
    """The call's record, written on the side (SQL may be slow or away too, and Twilio must have its
    TwiML within 2 s): a call that began while Redis was away is known nowhere else."""
    form = request.form
    sid = form.get("CallSid")
    # An agent's or a callback's leg is no call of its own: its caller's call is recorded.
    if not sid or form.get("ParentCallSid") or request.path in NOT_A_CALL_OF_ITS_OWN:
        return
    try:
        records, at = services().records, now()
    except Exception:  # noqa: BLE001 - no services, no record: the log line above says why
        return
    args = (sid, form.get("From"), form.get("To"), at, request.path, form.get("CallStatus"))

    def write():
        try:
            records.router_away(*args)
        except Exception:  # noqa: BLE001 - SQL away as well: the log is all that is left
            log.exception("could not record call %s after %s failed", sid, args[4])
    threading.Thread(target=write, name="router-away-record", daemon=True).start()


def _call_sid() -> str:
    try:
        return (request.form.get("CallSid") or "?")[:64]
    except Exception:  # noqa: BLE001 - only for the log line
        return "?"


def _form(name: str) -> str | None:
    value = request.form.get(name)
    return value[:MAX_PARAM_CHARS] if value is not None else None


def _params(*required: str) -> Params:
    missing = [name for name in required if not request.form.get(name)]
    if missing:
        abort(400, f"missing Twilio parameter(s): {', '.join(missing)}")
    return Params(call_sid=_form("CallSid"), from_number=_form("From") or "", to_number=_form("To") or "",
                  digits=_form("Digits"), speech=_form("SpeechResult"), confidence=_form("Confidence"),
                  base_url=request.host_url.rstrip("/") + request.script_root,
                  from_country=_form("FromCountry"))


def _node() -> str:
    node = request.args.get("node", "")
    if not node:
        abort(400, "missing node in the URL")
    return node[:64]


def _arg(name: str) -> str | None:
    value = request.args.get(name)
    return value[:64] if value is not None else None


def _lang() -> str | None:
    """The caller's chosen language, as the menu's action URL carries it (checked against the config)."""
    return request.args.get("lang", "")[:16] or None


def _tries() -> int:
    tries = request.args.get("try", "0")[:3]
    # ASCII only: "²" and "٣" are digits to str.isdigit (and "٣" to int()), never to Twilio
    return int(tries) if tries.isascii() and tries.isdecimal() else 0


def _ivr() -> IvrCalls:
    return services().ivr


@bp.post("/incoming")
def incoming():
    return _xml(_ivr().incoming(_params("CallSid", "From", "To")))


@bp.post("/gather")
def gather():
    return _xml(_ivr().gather(_params("CallSid", "From", "To"), _node(), _tries(), _lang()))


@bp.post("/language")
def language():
    """The caller chose a language at a `languages` node."""
    return _xml(_ivr().language(_params("CallSid", "From", "To"), _node(), _tries()))


@bp.post("/confirm")
def confirm():
    """The caller's yes or no to "Did you want billing?" (the target in the signed action URL)."""
    target = request.args.get("target", "")[:64]
    if not target:
        abort(400, "missing target in the URL")
    return _xml(_ivr().confirm(_params("CallSid", "From", "To"), _node(), target, _tries(), _lang()))


@bp.post("/wait")
def wait():
    return _xml(_ivr().hold(_params("CallSid"), _node(), _form("QueuePosition"), request.args.get("queue", "")[:64]))


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


@bp.post("/overflow")
def overflow():
    return _xml(_ivr().overflow(_params("CallSid", "From", "To"), _node()))


@bp.post("/hold-key")
def hold_key():
    return _xml(_ivr().hold_key(_params("CallSid", "From", "To"), _node()))


@bp.post("/connect")
def connect():
    """The caller's call (or, for a callback, the customer's new call), sent here by the ACD
    once an agent accepted: dial the agent."""
    return _xml(services().connections.connect(_params("CallSid", "From", "To"), request.args.get("rid", "")[:64]))


@bp.post("/connect-wait")
def connect_wait():
    """The caller's wait document in their conference until the agent joins."""
    return _xml(services().connections.connect_wait(_params("CallSid"), _arg("rid") or ""))


@bp.post("/after-talk")
def after_talk():
    """A caller whose talk ended before they joined the conference: the survey or a goodbye."""
    return _xml(services().connections.after_talk(_params("CallSid", "From", "To")))


@bp.post("/agent-dialed")
def agent_dialed():
    """The Dial to the agent ended: hang up after a talk, or back in line when nobody answered."""
    return _xml(services().connections.agent_dialed(_params("CallSid", "From", "To"), _form("DialCallStatus"),
                                                    _form("DialCallDuration")))


@bp.post("/survey")
def survey_answer():
    """The caller's rating after the talk (queues with `survey: true`), for the queued call."""
    return _xml(services().connections.survey_answer(_params("CallSid", "From", "To"), _tries()))


@bp.post("/agent-leg")
def agent_leg():
    """Status callback of an agent's leg: answered starts the talk (or a consult), completed ends it."""
    _params("CallSid", "CallStatus")        # 400 when Twilio's own parameters are missing
    services().connections.agent_leg(_arg("call"), _arg("agent"), _arg("rid") or "", _form("ParentCallSid"),
                                     _form("CallStatus"), _form("CallDuration"))
    return Response(status=204)


@bp.post("/requeue")
def requeue():
    """The agent's phone did not answer: the caller, sent here from the conference, waits again."""
    return _xml(services().connections.requeue(_params("CallSid", "From", "To"), _node()))


@bp.post("/callback-missed")
def callback_missed():
    """The agent did not answer a callback's customer: they hear why; the request waits again."""
    return _xml(twiml.goodbye(CALLBACK_MISSED, None))


@bp.post("/transferred")
def transferred():
    """A caller transferred to a queue waits there (their node is the one they first queued at)."""
    return _xml(services().connections.transferred(_params("CallSid", "From", "To"), request.args.get("node", "")[:64],
                                                   _arg("queue") or ""))


@bp.post("/transfer-out")
def transfer_out():
    """A caller transferred to an outside number: dial it."""
    _params("CallSid")
    number = _arg("number") or ""
    return _xml(twiml.dial_out(number) if not e164_problem(number) else twiml.goodbye(None, None))


@bp.post("/on-hold")
def on_hold():
    """HoldUrl of a caller on hold: the queue's hold message and music."""
    return _xml(services().connections.on_hold(_params("CallSid"), _arg("queue") or ""))


@bp.post("/number-leg")
def number_leg():
    """Status callback of a number dialed into a call (a warm transfer's target, a three-way party)."""
    _params("CallSid", "CallStatus")
    services().acd.transfers.number_leg(_arg("call") or "", _arg("xfer"), _form("To"), _form("CallStatus"), now())
    return Response(status=204)


@bp.post("/monitor-leg")
def monitor_leg():
    """Status callback of a supervisor's leg on a call: when it ends, they no longer monitor it."""
    _params("CallSid", "CallStatus")
    services().acd.controls.monitor_leg(_arg("call") or "", _arg("by") or "", _form("CallStatus"))
    return Response(status=204)


@bp.post("/conference")
def conference_event():
    """Conference status callbacks: a caller held or taken off hold (by us or anyone with the
    conference's REST API) counts hold time; agents joining and leaving, and the end, move the ACD."""
    _params("ConferenceSid", "StatusCallbackEvent")
    services().acd.conference_event(_arg("call") or "", _form("StatusCallbackEvent"), _form("FriendlyName"),
                                    _form("CallSid"), _form("ParticipantLabel"), _form("Hold"), now())
    return Response(status=204)


@bp.post("/callback-status")
def callback_status():
    """Status callback of the customer's callback call (placed by the ACD through REST)."""
    p = _params("CallSid", "CallStatus")
    services().connections.callback_status(p.call_sid, _form("CallStatus"))
    return Response(status=204)


@bp.post("/status")
def status():
    p = _params("CallSid", "CallStatus")
    _ivr().status(p.call_sid, _form("CallStatus"), _form("CallDuration"))
    return Response(status=204)


@bp.post("/fallback")
def fallback():
    """Twilio comes here when a step failed or was too slow (ErrorUrl names it). A step of REPLAYED is
    asked for again; anything else, or a replay that fails too, gets the when_down answer, which needs
    neither Redis nor SQL."""
    step = urlsplit(request.form.get("ErrorUrl") or "")
    path = step.path.removeprefix(request.script_root)
    if path not in REPLAYED:
        return _when_down()
    environ = EnvironBuilder(path=path, base_url=request.host_url.rstrip("/") + request.script_root,
                             query_string=step.query, method="POST", data=request.form.to_dict()).get_environ()
    try:
        with current_app.request_context(environ) as replayed:
            log.info("%s for call %s was lost on its way; asked again", path, _call_sid())
            return current_app.view_functions[replayed.request.url_rule.endpoint]()
    except Exception:  # noqa: BLE001 - the apology must come out whatever is broken
        log.exception("the replay of %s failed for call %s; answering with when_down", path, _call_sid())
        return _when_down()
