"""Reports over the JSON API and as CSV: `GET /api/reports?by=day&from=2026-11-01&to=2026-11-23`
(admin). `by` is interval, day, queue, agent or rule (the routing rules calls took, with their calls'
outcomes: store/reports.py `rule_report`); `queue` and `agent` narrow it; `format=csv` (or
`Accept: text/csv`) answers a CSV file. Days are the contact center's; the default range is today."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from .answers import CSV, Report
from .deps import services
from .openapi import operation
from .schemas import ReportQuery

bp = Blueprint("reports_api", __name__, url_prefix="/api")


@bp.get("/reports")
@operation(summary="Figures by interval, day, queue, agent or routing rule over days", auth="supervisor",
           query=ReportQuery, answers={200: (Report, CSV)}, errors=(503,))
def reports(query: ReportQuery):
    """Days are the contact center's; the default range is today. `format=csv` or `Accept: text/csv`:
    a CSV file."""
    found = services().reports.report(query.by, query.since, query.until, queue=query.queue, agent=query.agent)
    if query.format == "csv" or request.accept_mimetypes.best == "text/csv":
        return Response(found.csv(), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename={found.filename}"})
    return jsonify(found.as_json())
