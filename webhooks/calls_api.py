"""Offers and calls through the JSON API: accept or reject a reservation, keep notes during the call,
end wrap-up with a disposition and notes, read a call's screen pop (CONTRACT.md, "JSON API"), and list
past calls (`GET /api/calls?from&to&queue&agent&outcome&limit&cursor`, admin: acd/history.py)."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, stream_with_context

from screenpop.timeline import timeline

from .answers import CallNotes, HistoryPage, Media, OneCall, ReservationAnswer, ScreenPop, WrapUpAnswer
from .deps import now, services
from .openapi import operation
from .schemas import HistoryQuery, NotesBody, WrapUp

bp = Blueprint("calls_api", __name__, url_prefix="/api")


@bp.get("/calls")
@operation(summary="Past calls, newest first, a page at a time", auth="supervisor", query=HistoryQuery,
           answers={200: HistoryPage}, errors=(503,))
def history(query: HistoryQuery):
    return jsonify(services().history.page(query.since, query.until, queue=query.queue, agent=query.agent,
                                           outcome=query.outcome, limit=query.limit, cursor=query.cursor,
                                           q=query.q))


@bp.get("/calls/<call_sid>")
@operation(summary="One past call whole, with its timeline in words", auth="supervisor", answers={200: OneCall},
           errors=(503,))
def one_call(call_sid):
    call = services().history.one(call_sid)
    return jsonify({**call, "timeline": timeline(call, call["agent_names"])})


@bp.get("/calls/<call_sid>/recording")
@operation(summary="The call's recording (its voicemail), fetched from Twilio by the service", auth="supervisor",
           answers={200: Media("audio/mpeg", "the recording, as MP3")}, errors=(502, 503))
def recording(call_sid):
    content_type, chunks, length = services().recordings.open(call_sid)
    response = Response(stream_with_context(chunks), content_type=content_type)
    if length:
        response.headers["Content-Length"] = length
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/reservations/<rid>/accept")
@operation(summary="Accept an offer", auth="signed_in", answers={200: ReservationAnswer}, errors=(409, 502))
def accept(rid, who):
    services().acd.accept_for(rid, who.may_act_for, now())
    return jsonify(reservation_id=rid, status="accepted")


@bp.post("/reservations/<rid>/reject")
@operation(summary="Reject an offer", auth="signed_in", answers={200: ReservationAnswer}, errors=(409,))
def reject(rid, who):
    services().acd.reject_for(rid, who.may_act_for, now())
    return jsonify(reservation_id=rid, status="rejected")


@bp.post("/calls/<call_sid>/wrapup")
@operation(summary="End the wrap-up with a disposition and notes", auth="signed_in", body=WrapUp,
           answers={200: WrapUpAnswer}, errors=(409,))
def wrapup(call_sid, who, body: WrapUp):
    """The agent is available again (unless they chose break or offline meanwhile)."""
    return jsonify(services().wrapups.wrap_up(call_sid, who.may_act_for, body.disposition, body.notes, now()))


@bp.put("/calls/<call_sid>/notes")
@operation(summary="Keep the notes the agent takes during the call", auth="signed_in", body=NotesBody,
           answers={200: CallNotes}, errors=(409,))
def put_notes(call_sid, who, body: NotesBody):
    """Kept with the call at once (the record has them even if the wrap-up ends by its timer); 409
    once this agent wrapped the call up."""
    return jsonify(services().wrapups.write_notes(call_sid, who.may_act_for, body.notes, now()))


@bp.get("/calls/<call_sid>/notes")
@operation(summary="The notes the asking agent took on the call", auth="signed_in", answers={200: CallNotes})
def get_notes(call_sid, who):
    return jsonify(services().wrapups.notes_of(call_sid, who.may_act_for))


@bp.get("/calls/<call_sid>/context")
@operation(summary="A call's screen pop", auth="signed_in", answers={200: ScreenPop})
def call_context(call_sid, who):
    """The screen pop of a call: a supervisor, the admin, or an agent the call was offered to."""
    return jsonify(services().screenpops.for_viewer(call_sid, who.kind in ("admin", "supervisor"), who.agent_id))
