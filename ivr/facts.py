"""What routing rules see of a call (../shared/CONTRACT.md v3 "Routing rules"): `caller`, `contact`,
`call`, `now` and `queues.<name>`, built once per turn and only when a rule is about to run.

Everything in Redis is read in one round trip (the caller's other calls, the menu choices and the
queues' figures: acd/lua/rule_facts.lua); the CRM
contact comes from `contacts`, which waits for the CRM at most the config's `crm_wait_ms`. A part that
fails is left out (a rule reading it does not fire), never the call.
"""
from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Callable
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import timezone as phone_timezones

from contactcenter import rules
from contactcenter.model import ContactCenter

from .flow import Call

log = logging.getLogger(__name__)
REPEAT_S = 7 * 86400         # a caller who called in the last week is a repeat caller
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_QUEUE_NAMED = re.compile(r"\bqueues\s*\.\s*([A-Za-z_][A-Za-z0-9_-]*)")


@lru_cache(maxsize=50_000)
def _caller_place(number: str, country: str) -> tuple[str, str | None]:
    """(region, time zone) of a caller's number; Twilio's FromCountry wins for the region."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return country, None
    region = country or phonenumbers.region_code_for_number(parsed) or ""
    zones = [z for z in phone_timezones.time_zones_for_number(parsed) if z != "Etc/Unknown"]
    return region, zones[0] if zones else None


def caller(call: Call, cc: ContactCenter) -> dict:
    region, zone = _caller_place(call.from_number, call.country or "")
    local = call.now.astimezone(ZoneInfo(zone or cc.timezone))
    return {"e164": call.from_number, "region": region, "local_hour": local.hour}


def clock(call: Call, cc: ContactCenter) -> dict:
    """`now` in the contact center's zone; `holiday`: today is a holiday in any of its hours'
    calendars (a holiday closes the line that keeps it, so a rule may send those callers elsewhere)."""
    local = call.now.astimezone(ZoneInfo(cc.timezone))
    return {"weekday": WEEKDAYS[local.weekday()], "hour": local.hour, "minute": local.minute,
            "holiday": any(schedule.is_holiday(call.now) for schedule in cc.hours.values())}


def start_of_day(now: datetime, cc: ContactCenter) -> float:
    local = now.astimezone(ZoneInfo(cc.timezone))
    midnight = datetime(local.year, local.month, local.day, tzinfo=local.tzinfo)
    return (midnight if midnight <= local else midnight - timedelta(days=1)).timestamp()


@lru_cache(maxsize=1024)
def needs(expressions: tuple[str, ...], queue_names: tuple[str, ...]) -> tuple[frozenset[str], tuple[str, ...]]:
    """(the attributes `expressions` read, the queues whose figures they read): a rule that reads
    `queues` without naming one (`queues.exists(...)`) has every queue read. Once per set of rules."""
    read: set[str] = set()
    named: set[str] = set()
    for expression in expressions:
        attributes = rules.reads(expression)
        read.update(attributes)
        if "queues" in attributes:
            found = set(_QUEUE_NAMED.findall(expression))
            named.update(found if found else queue_names)
    return frozenset(read), tuple(sorted(n for n in named if n in queue_names))


class Facts:
    """Builds a call's rule context: `Call.facts` is `Facts.of` bound to the services."""

    def __init__(self, cc: ContactCenter, floor, contacts: Callable[[str], dict] | None):
        self.cc = cc
        self.floor = floor                # acd.floor.Floor, or None without an ACD
        self.contacts = contacts          # caller's number -> the contact for rules ({} unknown), bounded

    def of(self, call: Call, expressions: tuple[str, ...]) -> dict:
        """The context `expressions` need: each attribute only when some expression reads it (every
        attribute is there, the others empty: a queue's rules on the contact alone cost no clock, no
        phone-number parsing and no Redis)."""
        read, queues = needs(expressions, tuple(self.cc.queues))
        context = {"caller": caller(call, self.cc) if "caller" in read else {},
                   "now": clock(call, self.cc) if "now" in read else {}, "queues": {}, "contact": {},
                   # calls_today and repeat_caller only once read: a rule on them must not hold on a guess
                   "call": {"language": call.language or "", "choices": list(call.chosen)}}
        try:
            if ("call" in read or queues) and self.floor is not None:
                self._read_redis(call, context, queues)
        except Exception:  # noqa: BLE001 - rules reading these do not fire; the call goes on
            log.exception("routing rules: could not read the floor for %s", call.sid)
        if "contact" in read and self.contacts is not None:
            context["contact"] = _numbers_as_floats(self.contacts(call.from_number) or {})
        return context

    def _read_redis(self, call: Call, context: dict, queues: tuple[str, ...]) -> None:
        today, recent, choices, figures = self.floor.read(
            queues, call.now, call.sid, call.from_number, start_of_day(call.now, self.cc),
            call.now.timestamp() - REPEAT_S)
        context["call"].update(calls_today=today, repeat_caller=recent > 0, choices=[*choices, *call.chosen])
        context["queues"] = figures


def _numbers_as_floats(contact: dict) -> dict:
    """CRM numbers as doubles, whatever JSON made them: `contact.seats > 10.0` must not depend on
    whether the CRM wrote 12 or 12.0 (CEL compares int with double, but an int field divided or
    added to a double fails)."""
    return {k: float(v) if isinstance(v, int) and not isinstance(v, bool) else v for k, v in contact.items()}
