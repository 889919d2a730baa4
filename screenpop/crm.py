"""Built-in CRM lookup: caller's E.164 number -> contact summary.

Returns a frozen, session-independent ContactInfo so the result can be
cached, serialised into the screen pop and passed between threads without
dragging an ORM object (and its session) along.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, bindparam, select
from sqlalchemy.orm import Session

from store.models import Contact, ContactPhone

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ContactInfo:
    id: int
    name: str
    first_name: str
    last_name: str
    company: str | None = None
    account_value: float | None = None
    tier: str | None = None
    notes: str | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)  # tuple: keeps the dataclass hashable
    # Custom fields as sorted (name, value) pairs, list values as tuples: hashable too. `custom_fields()`
    # gives them back as the JSON-like dict callers show and route on.
    fields: tuple[tuple[str, Any], ...] = field(default_factory=tuple)

    def custom_fields(self) -> dict[str, Any]:
        """The custom fields as a fresh dict (lists as lists): safe for the caller to keep or change."""
        return {name: list(value) if isinstance(value, tuple) else value for name, value in self.fields}


def _frozen_fields(fields: Any) -> tuple[tuple[str, Any], ...]:
    """A contact's JSON custom fields as hashable pairs; anything but an object (a hand-edited row) is none."""
    if not isinstance(fields, dict):
        return ()
    pairs = ((str(name), tuple(value) if isinstance(value, list) else value) for name, value in fields.items())
    return tuple(sorted(pairs, key=lambda pair: pair[0]))


def split_name(name: str) -> tuple[str, str]:
    """("Mary Ann Smith") -> ("Mary", "Smith"); a single word has no last name."""
    words = (name or "").split()
    if not words:
        return "", ""
    return words[0], (words[-1] if len(words) > 1 else "")


def contact_info(contact: Contact) -> ContactInfo:
    first, last = split_name(contact.name)
    return ContactInfo(
        id=contact.id,
        name=contact.name,
        first_name=first,
        last_name=last,
        company=contact.company,
        account_value=None if contact.account_value is None else float(contact.account_value),
        tier=contact.tier,
        notes=contact.notes,
        tags=tuple(contact.tags or ()),
        fields=_frozen_fields(contact.fields),
    )


def find_contact_by_phone(session: Session, e164: str) -> ContactInfo | None:
    """Exact match on the stored E.164 number (callers normalise first)."""
    if not e164:
        return None
    stmt = (
        select(Contact)
        .join(ContactPhone, ContactPhone.contact_id == Contact.id)
        .where(ContactPhone.e164 == e164)
    )
    contact = session.scalars(stmt).first()
    return None if contact is None else contact_info(contact)


# The IVR greets callers by name on every incoming call: one compiled Core query
# (no ORM session) and a short in-process cache keep that off the hot path.
_GREETING_QUERY = (
    select(Contact.id, Contact.name, Contact.company, Contact.tier)
    .join(ContactPhone, ContactPhone.contact_id == Contact.id)
    .where(ContactPhone.e164 == bindparam("e164"))
    .limit(1)
)


_KNOWN_PHONES = select(ContactPhone.e164)


class GreetingLookup:
    """Caller number -> the CRM fields prompts may use, cached briefly (hits and misses).

    Most callers are not in the CRM: the set of known numbers (refreshed every `ttl_s`)
    answers them without a query, so a new contact is greeted by name within a minute."""

    def __init__(self, engine: Engine, ttl_s: float = 60.0, max_entries: int = 10_000,
                 max_known: int = 200_000):
        self.engine = engine
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.max_known = max_known
        self._cache: dict[str, tuple[float, dict | None]] = {}
        self._known: frozenset[str] | None = None
        self._known_until = 0.0
        self._lock = threading.Lock()

    def _known_numbers(self, now: float) -> frozenset[str] | None:
        """Every CRM number, or None when the CRM is too big to hold (then each caller is queried)."""
        if now >= self._known_until:
            with self.engine.connect() as conn:
                rows = conn.execute(_KNOWN_PHONES.limit(self.max_known + 1)).scalars().all()
            self._known = frozenset(rows) if len(rows) <= self.max_known else None
            self._known_until = now + self.ttl_s
        return self._known

    def may_know(self, e164: str) -> bool:
        """False only when the CRM surely has no contact of this number (the set of known numbers
        says so); True when it may, or when that cannot be told (a CRM too big to hold, a failure)."""
        try:
            known = self._known_numbers(time.monotonic())
        except Exception:  # noqa: BLE001 - a lookup will tell, and fail on its own terms
            log.exception("CRM numbers could not be read")
            return True
        return known is None or e164 in known

    def fields_or_none(self, e164: str) -> dict | None:
        """The caller's fields for greetings; None also when the CRM fails: it never stops a call."""
        try:
            return self(e164)
        except Exception:   # noqa: BLE001 - the caller is greeted without a name instead
            log.exception("CRM lookup failed for %s", e164)
            return None

    def __call__(self, e164: str) -> dict | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(e164)
        if hit is not None and hit[0] > now:
            return hit[1]
        known = self._known_numbers(now)
        if known is not None and e164 not in known:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(_GREETING_QUERY, {"e164": e164}).first()
        fields = None
        if row is not None:
            first, last = split_name(row.name)
            fields = {"id": row.id, "name": row.name, "first_name": first, "last_name": last,
                      "company": row.company, "tier": row.tier}
        with self._lock:
            if len(self._cache) >= self.max_entries:
                self._cache.clear()          # crude but bounded: a burst of new callers resets it
            self._cache[e164] = (now + self.ttl_s, fields)
        return fields
