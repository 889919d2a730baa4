"""The JSON API (CONTRACT.md, "JSON API"): health and live statistics. Agents and calls are
in agents_api.py and calls_api.py."""
from __future__ import annotations

import logging
import time
from datetime import date
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, jsonify, request

from acd.series import day_series
from acd.stats import live_stats
from store.db import ping

from .auth import require_admin
from .deps import now as clock_now
from .deps import services
from .streams import sse

bp = Blueprint("api", __name__, url_prefix="/api")
log = logging.getLogger(__name__)


@bp.get("/health")
def health():
    rt = services()
    report = {}
    try:
        rt.redis.ping()
        report["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001 - a health check reports, it does not raise
        report["redis"] = f"down: {type(exc).__name__}"
    try:
        ping(rt.engine)
        report["database"] = "ok"
    except Exception as exc:  # noqa: BLE001
        report["database"] = f"down: {type(exc).__name__}"
    healthy = all(v == "ok" for v in report.values())
    return jsonify(report), 200 if healthy else 503


def _stats() -> dict:
    rt = services()
    return live_stats(rt.redis, rt.keys, rt.cc, clock_now())


@bp.get("/stats")
def stats():
    require_admin()
    return jsonify(_stats())


@bp.get("/stats/intervals")
def stats_intervals():
    """Today's (or `day`'s) 15-minute intervals per queue, for the supervisor's chart."""
    require_admin()
    rt = services()
    now = clock_now()
    zone = ZoneInfo(rt.cc.timezone)
    raw = request.args.get("day")
    try:
        day = date.fromisoformat(raw) if raw else now.astimezone(zone).date()
    except ValueError:
        abort(400, f"day must be a date YYYY-MM-DD, not {raw[:40]!r}")
    return jsonify(day=day.isoformat(), timezone=rt.cc.timezone, queues=day_series(rt.redis, rt.keys, rt.cc, day, now))


@bp.get("/stats/stream")
def stats_stream():
    """The same figures as Server-Sent Events, once a second (and only when they changed)."""
    require_admin()
    app = current_app._get_current_object()

    def stream():
        last = None
        while True:
            with app.app_context():
                figures = _stats()
            if figures != last:
                yield sse("stats", figures)
                last = figures
            else:
                yield ": unchanged\n\n"
            time.sleep(1)

    return Response(stream(), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
