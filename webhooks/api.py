"""The JSON API (CONTRACT.md, "JSON API"): health and live statistics. Agents and calls are
in agents_api.py and calls_api.py."""
from __future__ import annotations

import logging
import time

from flask import Blueprint, Response, current_app, jsonify

from .answers import EVENT_STREAM, Figures, Health, Intervals, Media
from .deps import services
from .openapi import description, operation
from .schemas import IntervalsQuery
from .streams import sse

bp = Blueprint("api", __name__, url_prefix="/api")
log = logging.getLogger(__name__)


@bp.get("/health")
@operation(summary="Whether Redis and SQL answer", auth="anyone", answers={200: Health, 503: Health})
def health():
    board = services().board
    report = board.health()
    return jsonify(report), 200 if board.healthy(report) else 503


@bp.get("/stats")
@operation(summary="The live figures per queue and agent", auth="supervisor", answers={200: Figures})
def stats():
    return jsonify(services().board.figures())


@bp.get("/stats/intervals")
@operation(summary="A day's 15-minute intervals per queue", auth="supervisor", query=IntervalsQuery,
           answers={200: Intervals})
def stats_intervals(query: IntervalsQuery):
    """Today's (or `day`'s) 15-minute intervals per queue, for the supervisor's chart."""
    return jsonify(services().board.day_intervals(query.day))


def _figure_changes(app):
    """The live figures as SSE events, read once a second in `app`'s context; an unchanged second
    sends a comment instead, which keeps proxies from closing an idle stream."""
    last = None
    while True:
        with app.app_context():
            figures = services().board.figures()
        if figures != last:
            yield sse("stats", figures)
            last = figures
        else:
            yield ": unchanged\n\n"
        time.sleep(1)


@bp.get("/stats/stream")
@operation(summary="The live figures as Server-Sent Events", auth="supervisor", answers={200: EVENT_STREAM})
def stats_stream():
    """The same figures as Server-Sent Events (`stats`), once a second (and only when they changed)."""
    return Response(_figure_changes(current_app._get_current_object()), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@bp.get("/openapi.json")
@operation(summary="This description (OpenAPI 3.1)", auth="anyone",
           answers={200: Media("application/json", "the OpenAPI 3.1 description of every /api operation",
                               {"type": "object", "required": ["openapi", "paths"]})})
def openapi():
    """Every /api operation: its auth, parameters, request and answer bodies and errors."""
    return jsonify(description(current_app))
