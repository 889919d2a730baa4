"""Reading a REST request's parameters the way Twilio validates them, and
writing JSON replies. Form fields are the request body (Twilio's POSTs are
form-encoded); an empty field counts as absent, as on Twilio."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone

from flask import Response, request

from .errors import bad

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


def reply(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def form(name: str, default: str | None = None) -> str | None:
    value = request.form.get(name)
    return default if value is None or value == "" else value


def method_param(name: str = "Method") -> str:
    method = (form(name) or "POST").upper()
    if method not in ("GET", "POST"):
        raise bad(20001, f"Invalid parameter: {name} must be GET or POST")
    return method


def int_param(source, name: str, default: int, low: int, high: int) -> int:
    """An integer from `source` (request.form or request.args) within [low, high]."""
    raw = source.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad(20001, f"Invalid parameter: {name} must be an integer") from None
    if not low <= value <= high:
        raise bad(20001, f"Invalid parameter: {name} must be between {low} and {high}")
    return value


def page_params() -> tuple[int, int]:
    """(Page, PageSize) of a list request; PageSize is checked first, as before the split."""
    size = int_param(request.args, "PageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    number = int_param(request.args, "Page", 0, 0, 10 ** 9)
    return number, size


def friendly_name_param(required: bool) -> str | None:
    name = form("FriendlyName")
    if name is None:
        if required:
            raise bad(20001, "Missing required parameter FriendlyName in the post body")
        return None
    if len(name) > 64:
        raise bad(20002, "Invalid FriendlyName: it can be up to 64 characters long")
    return name


def date_param(name: str) -> date | None:
    """A date filter of a list request (`StartTime`, `EndTime<`, ...): `YYYY-MM-DD` in UTC as Twilio
    documents, or an ISO 8601 date-time (what the twilio client sends for a datetime or date), read
    as its UTC date."""
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    try:
        if len(raw) == 10:
            return date.fromisoformat(raw)
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise bad(20001, f"Invalid parameter: {name} must be a date as YYYY-MM-DD") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.date()
