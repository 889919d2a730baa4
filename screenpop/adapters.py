"""CRM adapters behind one small interface: `lookup(e164) -> contact dict | None`.

A contact is a plain dict (name, company, account_value, tier, notes, tags, and
`fields`: the custom fields routing rules read as `contact.<field>`) so it can be
cached in Redis as JSON and shown verbatim. The built-in CRM always says `fields`;
an outside CRM's contact has it only when the CRM answered some (absent = none). `None` means the CRM does not
know the caller; a CRM that cannot answer (down, slow, garbage) raises
CrmUnavailable with a reason a person can read, which the screen pop shows.

- SqlCrm: the built-in CRM (store/models.py contacts), the default.
- HttpCrm: an outside CRM reached by GET on a URL template (CRM_URL), with a
  total time limit (CRM_TIMEOUT_S) and an optional header (CRM_AUTH_HEADER).
"""
from __future__ import annotations

import json
import math
import re
import threading
import time
from typing import Protocol
from urllib.parse import quote

import requests
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from .crm import find_contact_by_phone

MAX_BODY_BYTES = 256 * 1024     # a contact is a few hundred bytes; more is not a contact
TEXT_LIMITS = {"name": 200, "company": 200, "tier": 32, "notes": 10_000}
MAX_TAGS = 50
# An outside CRM's custom fields: named like CEL identifiers, JSON scalars or short lists of them.
# Names a custom field cannot take: the contact's own, and csat_avg (the rules' contact has it from our calls).
KNOWN_FIELDS = frozenset(("id", "name", "company", "tier", "notes", "account_value", "tags", "fields", "csat_avg"))
FIELD_NAME = re.compile(r"[a-z_][a-z0-9_]{0,63}")
MAX_FIELDS, MAX_FIELD_TEXT, MAX_FIELD_LIST = 50, 500, 20
_INT64 = 2 ** 63


class CrmUnavailable(Exception):
    """The CRM could not say who the caller is; str() is the reason, for people."""


class Crm(Protocol):
    source: str

    def lookup(self, e164: str) -> dict | None: ...


class SqlCrm:
    """The built-in CRM: contacts and their phone numbers in the service's own database."""
    source = "sql"

    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions

    def lookup(self, e164: str) -> dict | None:
        try:
            with self.sessions() as session:
                info = find_contact_by_phone(session, e164)
        except SQLAlchemyError as exc:
            raise CrmUnavailable(f"database error ({type(exc).__name__})") from exc
        if info is None:
            return None
        return {"id": info.id, "name": info.name, "company": info.company, "account_value": info.account_value,
                "tier": info.tier, "notes": info.notes, "tags": list(info.tags), "fields": info.custom_fields()}


def _fmt_s(seconds: float) -> str:
    return f"{seconds:g} s"


class HttpCrm:
    """An outside CRM: `GET url_template.format(e164=..., digits=...)`.

    Answers: 200 with a JSON contact object (or `{"contact": {...}}`) = known caller;
    404, 204 or `{"contact": null}` = unknown caller; anything else = unavailable."""
    source = "http"

    def __init__(self, url_template: str, timeout_s: float = 2.0, auth_header: str | None = None,
                 http: requests.Session | None = None):
        self.url_template = url_template
        self.timeout_s = timeout_s
        self.headers = {"Accept": "application/json"}
        if auth_header:
            name, _, value = auth_header.partition(":")
            self.headers[name.strip()] = value.strip()
        self._http = http
        self._local = threading.local()        # the prefetch looks callers up from several threads

    @property
    def http(self) -> requests.Session:
        if self._http is not None:
            return self._http
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def url_for(self, e164: str) -> str:
        return self.url_template.format(e164=quote(e164, safe=""), digits=e164.lstrip("+"))

    def lookup(self, e164: str) -> dict | None:
        status, body = self._get(self.url_for(e164))
        if status in (404, 204):
            return None
        if status != 200:
            raise CrmUnavailable(f"the CRM answered HTTP {status}")
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise CrmUnavailable("the CRM answered malformed JSON") from exc
        if isinstance(data, dict) and "contact" in data:
            data = data["contact"]
        if data is None:
            return None
        return validate_contact(data)

    def _get(self, url: str) -> tuple[int, bytes]:
        """(status, body) within about timeout_s in all: requests' timeout bounds each socket read
        only, so a CRM trickling its answer a byte at a time is cut off by the deadline here."""
        deadline = time.monotonic() + self.timeout_s
        try:
            with self.http.get(url, headers=self.headers, timeout=self.timeout_s, stream=True,
                               allow_redirects=False) as response:
                chunks, size = [], 0
                while chunk := response.raw.read1(8192, decode_content=True):   # what came, not 8 KiB
                    size += len(chunk)
                    if size > MAX_BODY_BYTES:
                        raise CrmUnavailable("the CRM answered more than a contact")
                    if time.monotonic() > deadline:
                        raise CrmUnavailable(f"timed out after {_fmt_s(self.timeout_s)}")
                    chunks.append(chunk)
                return response.status_code, b"".join(chunks)
        except requests.Timeout as exc:
            raise CrmUnavailable(f"timed out after {_fmt_s(self.timeout_s)}") from exc
        except requests.RequestException as exc:
            raise CrmUnavailable(f"could not reach the CRM ({type(exc).__name__})") from exc


def validate_contact(data) -> dict:
    """The outside CRM's contact, checked field by field: wrong types are the CRM's failure,
    never ours. Texts are kept verbatim (the console escapes). Other fields are the contact's custom
    fields (`custom_fields`), kept under "fields" when there are any."""
    if not isinstance(data, dict):
        raise CrmUnavailable(f"the CRM answered a {type(data).__name__}, not a contact object")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise CrmUnavailable("the CRM answered a contact without a name")
    contact = {"id": data.get("id"), "name": name}
    if contact["id"] is not None and (isinstance(contact["id"], bool) or not isinstance(contact["id"], (str, int))):
        raise CrmUnavailable("the CRM answered a contact id that is neither text nor a number")
    for field in ("company", "tier", "notes"):
        value = data.get(field)
        if value is not None and not isinstance(value, str):
            raise CrmUnavailable(f"the CRM answered a {field} that is not text")
        contact[field] = value
    for field, limit in TEXT_LIMITS.items():
        if contact[field] is not None:
            contact[field] = contact[field][:limit]
    contact["account_value"] = _amount(data.get("account_value"))
    tags = data.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise CrmUnavailable("the CRM answered tags that are not a list of texts")
    contact["tags"] = [t[:64] for t in tags[:MAX_TAGS]]
    fields = custom_fields(data)
    if fields:
        contact["fields"] = fields
    return contact


def custom_fields(data: dict) -> dict:
    """The custom fields of an outside CRM's contact: its keys other than the known ones (KNOWN_FIELDS),
    and those of an explicit `"fields": {...}` object (which win). A field is kept when its name could
    be a CEL member (`[a-z_][a-z0-9_]{0,63}`) and its value a text (cut at 500 characters), a finite
    number, a bool, or a list of at most 20 of those; at most 50 are kept. Anything else is dropped without
    a word: custom fields are extras a CRM may grow at any time, never a reason to lose the contact."""
    explicit = data.get("fields")
    candidates = list(explicit.items()) if isinstance(explicit, dict) else []      # first: they win
    candidates += data.items()
    out: dict = {}
    for name, value in candidates:
        if len(out) >= MAX_FIELDS:
            break
        if not isinstance(name, str) or name in out or name in KNOWN_FIELDS or not FIELD_NAME.fullmatch(name):
            continue
        value = _list(value) if isinstance(value, list) else _scalar(value)
        if value is not None:
            out[name] = value
    return out


def _scalar(value):
    """A custom field's scalar as kept (texts cut), or None when it is not one."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value[:MAX_FIELD_TEXT]
    if isinstance(value, int):
        return value if -_INT64 <= value < _INT64 else None     # CEL's ints are 64-bit
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return None


def _list(values: list):
    """A list of at most 20 scalars (texts cut), or None."""
    if len(values) > MAX_FIELD_LIST:
        return None
    kept = [_scalar(v) for v in values]
    return None if any(v is None for v in kept) else kept


def _amount(value) -> float | None:
    """A finite number (JSON allows NaN and 1e999 through Python's parser; browsers do not)."""
    if value is None:
        return None
    try:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError
        return float(value)
    except (ValueError, OverflowError):
        raise CrmUnavailable("the CRM answered an account_value that is not a number") from None


def crm_from_settings(settings, sessions: sessionmaker[Session]) -> Crm:
    """The outside CRM when CRM_URL is set, else the built-in one."""
    if settings.crm_url:
        return HttpCrm(settings.crm_url, settings.crm_timeout_s, settings.crm_auth_header)
    return SqlCrm(sessions)
