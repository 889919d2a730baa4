"""Small validation helpers that collect problems as (dotted path, reason).

Used by contactcenter.config and contactcenter.config_flows; nothing here raises, so one pass
over a config reports every problem it has.
"""
from __future__ import annotations

import re

import phonenumbers

from . import placeholders
from .hours import Schedule, ScheduleError, parse_holidays, parse_weekly, zone

NAME = re.compile(r"^[A-Za-z0-9_-]{1,48}$")


def e164_problem(value) -> str | None:
    if not isinstance(value, str):
        return f"phone number {value!r} must be a quoted string in E.164 form (\"+14155550100\")"
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        return f"bad phone number {value!r}: {exc}"
    if not value.startswith("+") or not phonenumbers.is_possible_number(number):
        return f"bad phone number {value!r}: not a possible E.164 number"
    if phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) != value:
        return f"phone number {value!r} is not in E.164 form"
    return None


class Checker:
    def __init__(self):
        self.problems: list[tuple[str, str]] = []

    def bad(self, path: str, reason: str) -> None:
        self.problems.append((path, reason))

    def mapping(self, value, path, required=False) -> dict:
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            self.bad(path, "must be a mapping" + (" and is required" if value is None else ""))
            return {}
        return value

    def keys(self, value: dict, path: str, allowed) -> None:
        for key in value:
            if key not in allowed:
                self.bad(join(path, key), f"unknown setting (allowed: {', '.join(sorted(allowed))})")

    def integer(self, value, path, default, low=0, high=None):
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
            self.bad(path, f"must be a whole number {low}..{high}" if high is not None
                     else f"must be a whole number >= {low}")
            return default
        return value

    def text(self, value, path, default=None, required=False):
        if value is None:
            if required:
                self.bad(path, "is required")
            return default
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            self.bad(path, "must be text")
            return default
        value = str(value)
        reason = placeholders.problem(value)
        if reason:
            self.bad(path, reason)
        return value

    def name(self, value, path) -> bool:
        if not isinstance(value, str) or not NAME.match(value):
            self.bad(path, f"bad name {value!r} (letters, digits, '_' and '-', at most 48)")
            return False
        return True

    def skills(self, value, path) -> dict[str, int]:
        out = {}
        for skill, level in self.mapping(value, path).items():
            if self.name(skill, f"{path}.{skill}"):
                out[skill] = self.integer(level, f"{path}.{skill}", 1, 1, 10)
        return out

    def timezone(self, value, path, default):
        if value is None:
            return default
        try:
            zone(value)
        except ScheduleError as exc:
            self.bad(path, exc.reason)
            return default
        return value

    def schedule(self, weekly, tz, holidays, path, weekly_key="weekly") -> Schedule | None:
        ok = True
        try:
            if weekly is not None:
                parse_weekly(weekly)
        except ScheduleError as exc:
            self.bad(join(path, weekly_key, exc.path), exc.reason)
            ok = False
        try:
            parse_holidays(holidays)
        except ScheduleError as exc:
            self.bad(join(path, "holidays", exc.path), exc.reason)
            ok = False
        return Schedule.parse(weekly, tz, holidays) if ok else None


def join(*parts) -> str:
    return ".".join(str(p) for p in parts if p not in (None, ""))
