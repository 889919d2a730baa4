"""Reports over the JSON API and as CSV: `GET /api/reports?by=day&from=2026-11-01&to=2026-11-23`
(admin). `by` is interval, day, queue or agent; `queue` and `agent` narrow it; `format=csv` (or
`Accept: text/csv`) answers a CSV file. Days are the contact center's; the default range is today."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, jsonify, request

from store.reports import GROUPINGS, report, to_csv

from .auth import require_admin
from .deps import now as clock_now
from .deps import services

bp = Blueprint("reports_api", __name__, url_prefix="/api")


def _day(name: str, default: date) -> date:
    raw = request.args.get(name)
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        abort(400, f"{name} must be a date YYYY-MM-DD, not {raw[:40]!r}")


@bp.get("/reports")
def reports():
    require_admin()
    rt = services()
    now: datetime = clock_now()
    today = now.astimezone(ZoneInfo(rt.cc.timezone)).date()
    by = request.args.get("by", "day")
    if by not in GROUPINGS:
        abort(400, f"by must be one of {', '.join(GROUPINGS)}")
    since, until = _day("from", today), _day("to", today)
    queue, agent = request.args.get("queue") or None, request.args.get("agent") or None
    with rt.sessions() as session:
        try:
            rows = report(session, rt.cc.workspace, rt.cc.timezone, since, until, by, queue=queue, agent=agent)
        except ValueError as exc:
            abort(400, str(exc))
    if request.args.get("format") == "csv" or request.accept_mimetypes.best == "text/csv":
        name = f"callrouter-{by}-{since}-{until}.csv"
        return Response(to_csv(rows, by), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename={name}"})
    return jsonify(by=by, **{"from": since.isoformat(), "to": until.isoformat()}, timezone=rt.cc.timezone,
                   rows=rows)
