"""The callers waiting in line, for the supervisor board: the list (GET /api/waiting) and giving one
of them to a chosen agent (POST /api/calls/<sid>/assign). The ACD holds both (acd/waiting.py); the
journey is put into words as the screen pop puts it."""
from __future__ import annotations

from flask import Blueprint, jsonify

from screenpop.pop import journey_in_words

from .answers import Assigned, WaitingList
from .deps import now, services
from .openapi import operation
from .schemas import AssignBody, WaitingQuery

bp = Blueprint("waiting_api", __name__, url_prefix="/api")


@bp.get("/waiting")
@operation(summary="The callers waiting in line, longest wait first", auth="supervisor", query=WaitingQuery,
           answers={200: WaitingList})
def waiting(query: WaitingQuery):
    """Each caller's queue and place, wait, priority, skills needed now, callback or not, journey."""
    callers = services().acd.waiting.listing(now(), query.queue)
    return jsonify(callers=[{**{k: v for k, v in c.items() if k not in ("steps", "call")},
                             "journey": journey_in_words(c["steps"], c["call"])} for c in callers])


@bp.post("/calls/<call_sid>/assign")
@operation(summary="Offer a waiting caller to a chosen agent now", auth="supervisor", body=AssignBody,
           answers={200: Assigned}, errors=(409,))
def assign(call_sid, who, body: AssignBody):
    """The agent must be available; the offer then runs as any other (it may time out or be
    rejected, and the caller keeps their place meanwhile)."""
    return jsonify(services().acd.waiting.assign(call_sid, body.agent, who.name, now()))
