"""Reports over the JSON API and as CSV: `GET /api/reports?by=day&from=2026-11-01&to=2026-11-23`
(admin). `by` is interval, day, queue or agent; `queue` and `agent` narrow it; `format=csv` (or
`Accept: text/csv`) answers a CSV file. Days are the contact center's; the default range is today."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from .auth import require_supervisor
from .deps import services

bp = Blueprint("reports_api", __name__, url_prefix="/api")


@bp.get("/reports")
def reports():
    require_supervisor()
    args = request.args
    found = services().reports.report(args.get("by", "day"), args.get("from"), args.get("to"),
                                      queue=args.get("queue") or None, agent=args.get("agent") or None)
    if args.get("format") == "csv" or request.accept_mimetypes.best == "text/csv":
        return Response(found.csv(), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename={found.filename}"})
    return jsonify(found.as_json())
