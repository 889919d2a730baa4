"""Reading a REST request's parameters the way Twilio validates them, and
writing JSON replies. Form fields are the request body (Twilio's POSTs are
form-encoded); an empty field counts as absent, as on Twilio."""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone
from urllib.parse import urlsplit

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


def int_param(source, name: str, default: int, low: int, high: int | None) -> int:
    """An integer from `source` (request.form or request.args) within [low, high] (None: no ceiling)."""
    raw = source.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad(20001, f"Invalid parameter: {name} must be an integer") from None
    if value < low or (high is not None and value > high):
        raise bad(20001, f"Invalid parameter: {name} must be between {low} and {high}" if high is not None
                  else f"Invalid parameter: {name} must be at least {low}")
    return value


def page_params() -> tuple[int, int]:
    """(Page, PageSize) of a list request; PageSize is checked first, as before the split. `Page` is
    any index from 0 (Twilio documents no ceiling: "simply for client state"); past the end, a page is empty."""
    size = int_param(request.args, "PageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    number = int_param(request.args, "Page", 0, 0, None)
    return number, size


def _absolute_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in value)


SID = re.compile(r"[A-Z]{2}[0-9a-fA-F]{32}")
KIND_CHECKS = {
    "int": lambda v: re.fullmatch(r"[+-]?[0-9]+", v) is not None,
    "bool": lambda v: v.lower() in ("true", "false"),
    "method": lambda v: v.upper() in ("GET", "POST"),
    "url": _absolute_url,
}
KIND_WORDS = {"int": "an integer", "bool": "true or false", "method": "GET or POST",
              "url": "an absolute http or https URL"}


def check_kinds(source, kinds: dict[str, str]) -> None:
    """Every parameter of `kinds` in `source` (request.form or request.args) is of its kind in Twilio's
    OpenAPI description, or 400 20001: `int`, `bool`, `method` (GET/POST), `url` (absolute http(s)),
    `sid:XX` (a SID with that prefix). Twilio checks a parameter's type whatever it does with it, so
    parameters of features the simulator has not (answering machine detection, Byoc, recording options,
    soft-deleted recordings) are checked too. An empty value is no value, as everywhere here."""
    for name, kind in kinds.items():
        for value in source.getlist(name):
            if value == "":
                continue
            if kind.startswith("sid:"):
                prefix = kind[4:]
                if not (SID.fullmatch(value) and value.startswith(prefix)):
                    raise bad(20001, f"Invalid parameter: {name} must be a {prefix} SID")
            elif not KIND_CHECKS[kind](value):
                raise bad(20001, f"Invalid parameter: {name} must be {KIND_WORDS[kind]}")


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
        try:
            moment = moment.astimezone(timezone.utc)
        except OverflowError:              # 0001-01-01T00:00+01:00 is in year 0 in UTC, 9999-12-31T23:00-02:00 in 10000
            return date.min if moment.utcoffset().total_seconds() > 0 else date.max
    return moment.date()


def bool_param(source, name: str) -> bool | None:
    """A boolean of `source` (request.form or request.args): `true`/`false` in any case, None when absent
    or empty, else 400 20001."""
    raw = source.get(name)
    if raw in (None, ""):
        return None
    if raw.lower() not in ("true", "false"):
        raise bad(20001, f"Invalid parameter: {name} must be true or false")
    return raw.lower() == "true"
