"""Call controls over the JSON API (CONTRACT.md, v3 "Call controls"): the agent on a call holds the
caller, mutes themselves, transfers (cold or warm), completes or cancels a warm transfer, adds or
removes a party and leaves; a supervisor does the same and listens, whispers or barges. Thin: each
handler parses, calls one domain method (acd/controls.py, acd/transfers.py) and answers."""
from __future__ import annotations

from flask import Blueprint, jsonify

from acd.controls import directory as call_directory
from acd.controls import supervisor_identity
from contactcenter.errors import Invalid, NotAllowed

from .answers import SoftphoneToken
from .controls_schemas import (
    ConferenceBody,
    Controls,
    Directory,
    HoldAnswer,
    HoldBody,
    LeaveAnswer,
    MonitorAnswer,
    MonitorBody,
    MuteAnswer,
    MuteBody,
    PartyAnswer,
    TransferAnswer,
    TransferBody,
    TransferStarted,
    one_target,
)
from .deps import now, services
from .openapi import operation

bp = Blueprint("controls_api", __name__, url_prefix="/api")
CALL_ERRORS = (404, 409, 502)


def _by(who) -> str | None:
    """The agent acting (None: a supervisor or the admin, for whoever is on the call)."""
    if who.kind == "agent":
        return who.agent_id
    if who.kind in ("admin", "supervisor"):
        return None
    raise NotAllowed("only agents and supervisors control calls")


def _acd():
    return services().acd


@bp.get("/calls/<call_sid>/controls")
@operation(summary="A connected call's controls: hold, mute, transfer, parties, monitors", auth="signed_in",
           answers={200: Controls}, errors=(404,))
def controls(call_sid, who):
    return jsonify(_acd().controls.view(call_sid, _by(who), who.kind in ("admin", "supervisor")))


@bp.post("/calls/<call_sid>/hold")
@operation(summary="Hold the caller, or take them off hold", auth="signed_in", body=HoldBody,
           answers={200: HoldAnswer}, errors=CALL_ERRORS)
def hold(call_sid, who, body: HoldBody):
    return jsonify(_acd().controls.hold(call_sid, _by(who), body.hold, now()))


@bp.post("/calls/<call_sid>/mute")
@operation(summary="Mute or unmute the agent's microphone", auth="signed_in", body=MuteBody,
           answers={200: MuteAnswer}, errors=CALL_ERRORS)
def mute(call_sid, who, body: MuteBody):
    return jsonify(_acd().controls.mute(call_sid, _by(who), body.mute))


@bp.post("/calls/<call_sid>/transfer")
@operation(summary="Transfer the caller to an agent, a queue or a number, cold or warm", auth="signed_in",
           body=TransferBody, answers={202: TransferStarted}, errors=CALL_ERRORS)
def transfer(call_sid, who, body: TransferBody):
    started = _acd().transfers.transfer(call_sid, _by(who), one_target(body.to), body.mode, body.notes, now())
    return jsonify({k: started[k] for k in ("transfer_id", "state", "agent") if k in started}), 202


@bp.post("/transfers/<transfer_id>/complete")
@operation(summary="Hand the caller over to the consulted target", auth="signed_in",
           answers={200: TransferAnswer}, errors=CALL_ERRORS)
def complete(transfer_id, who):
    return jsonify(_acd().transfers.complete(transfer_id, _by(who), now()))


@bp.post("/transfers/<transfer_id>/cancel")
@operation(summary="Call off a warm transfer: back to the caller", auth="signed_in",
           answers={200: TransferAnswer}, errors=CALL_ERRORS)
def cancel(transfer_id, who):
    return jsonify(_acd().transfers.cancel(transfer_id, _by(who), now()))


@bp.post("/calls/<call_sid>/conference")
@operation(summary="Add a party (an agent or a number) to the call, or remove one", auth="signed_in",
           body=ConferenceBody, answers={202: PartyAnswer, 200: PartyAnswer}, errors=CALL_ERRORS)
def conference(call_sid, who, body: ConferenceBody):
    if (body.add is None) == (body.remove is None):
        raise Invalid("give add or remove")
    if body.add is not None:
        return jsonify(_acd().transfers.add_party(call_sid, _by(who), one_target(body.add), now())), 202
    return jsonify(_acd().transfers.remove_party(call_sid, _by(who), body.remove))


@bp.post("/calls/<call_sid>/leave")
@operation(summary="The asking agent leaves the call", auth="signed_in", answers={200: LeaveAnswer},
           errors=CALL_ERRORS)
def leave(call_sid, who):
    if who.kind != "agent":
        raise NotAllowed("only an agent on the call leaves it")
    return jsonify(_acd().transfers.leave(call_sid, who.agent_id))


@bp.post("/calls/<call_sid>/monitor")
@operation(summary="Listen to, whisper on or barge into a call (a supervisor's softphone joins it)",
           auth="supervisor", body=MonitorBody, answers={200: MonitorAnswer}, errors=CALL_ERRORS)
def monitor(call_sid, who, body: MonitorBody):
    return jsonify(_acd().controls.monitor(call_sid, who.name or who.kind, body.mode, now()))


@bp.get("/directory")
@operation(summary="Agents with their status and queues, queues with who is free: transfer targets",
           auth="signed_in", answers={200: Directory})
def directory():
    s = services()
    waiting = {name: s.redis.zcard(s.keys.queue(name)) for name in s.cc.queues}
    return jsonify(call_directory(s.agents.all(), s.cc, waiting))


@bp.get("/softphone/token")
@operation(summary="A Twilio access token for the signed-in person's softphone", auth="signed_in",
           answers={200: SoftphoneToken}, errors=(503,))
def softphone_token(who):
    """Agents ring as their id; supervisors and admins as `supervisor-<username>` (to monitor calls)."""
    identity = who.agent_id if who.kind == "agent" else supervisor_identity(who.name or who.kind)
    return jsonify(identity=identity, token=services().roster.identity_token(identity))
