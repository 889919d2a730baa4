"""The JSON API (CONTRACT.md, "JSON API"). Health for now; agents and stats join with the ACD."""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify

from store.db import ping

bp = Blueprint("api", __name__, url_prefix="/api")
log = logging.getLogger(__name__)


@bp.get("/health")
def health():
    rt = current_app.extensions["callrouter"]
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
