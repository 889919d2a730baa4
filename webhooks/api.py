"""The JSON API (CONTRACT.md, "JSON API"): health and live statistics. Agents and calls are
in agents_api.py and calls_api.py."""
from __future__ import annotations

import logging
import time

from flask import Blueprint, Response, current_app, jsonify, request

from .auth import require_supervisor
from .deps import services
from .streams import sse

bp = Blueprint("api", __name__, url_prefix="/api")
log = logging.getLogger(__name__)


@bp.get("/health")
def health():
    board = services().board
    report = board.health()
    return jsonify(report), 200 if board.healthy(report) else 503


@bp.get("/stats")
def stats():
    require_supervisor()
    return jsonify(services().board.figures())


@bp.get("/stats/intervals")
def stats_intervals():
    """Today's (or `day`'s) 15-minute intervals per queue, for the supervisor's chart."""
    require_supervisor()
    return jsonify(services().board.day_intervals(request.args.get("day")))


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
def stats_stream():
    """The same figures as Server-Sent Events, once a second (and only when they changed)."""
    require_supervisor()
    return Response(_figure_changes(current_app._get_current_object()), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
