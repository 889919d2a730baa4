"""Weekly schedules in their own IANA time zone, plus holidays.

Used for the `hours` node (is the contact center open now?) and for agent
shifts. Times are minutes since local midnight; `24:00` may end a range.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_lib

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


class ScheduleError(ValueError):
    """A schedule value is wrong; `path` is relative to the value that failed."""

    def __init__(self, path: str, reason: str):
        super().__init__(reason)
        self.path = path
        self.reason = reason


def zone(name: str) -> ZoneInfo:
    if not isinstance(name, str) or not name or name.startswith("/"):
        raise ScheduleError("", f"unknown time zone {name!r} (use an IANA name such as Europe/Madrid)")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):      # OSError: a directory ("America"), a long name
        raise ScheduleError("", f"unknown time zone {name!r} (use an IANA name such as Europe/Madrid)") from None


def _days(spec: str) -> list[int]:
    out: list[int] = []
    for part in str(spec).lower().replace(" ", "").split(","):
        if "-" in part:
            first, _, last = part.partition("-")
            if first not in DAYS or last not in DAYS:
                raise ScheduleError(spec, f"unknown day range {part!r} (days are {', '.join(DAYS)})")
            a, b = DAYS.index(first), DAYS.index(last)
            if b < a:
                raise ScheduleError(spec, f"day range {part!r} runs backwards")
            out.extend(range(a, b + 1))
        elif part in DAYS:
            out.append(DAYS.index(part))
        else:
            raise ScheduleError(spec, f"unknown day {part!r} (days are {', '.join(DAYS)})")
    return out


def _minutes(text: str, spec: str, is_end: bool) -> int:
    m = _TIME.match(text.strip())
    if not m:
        raise ScheduleError(spec, f"bad time {text!r} (use HH:MM)")
    h, mi = int(m.group(1)), int(m.group(2))
    if mi > 59 or h > 24 or (h == 24 and (mi or not is_end)):
        raise ScheduleError(spec, f"bad time {text!r} (00:00-23:59, or 24:00 as an end)")
    return h * 60 + mi


def _ranges(value, spec: str) -> list[tuple[int, int]]:
    items = value if isinstance(value, list) else str(value).split(",")
    out = []
    for item in items:
        if not isinstance(item, str) or "-" not in item:
            raise ScheduleError(spec, f"bad time range {item!r} (use \"HH:MM-HH:MM\")")
        start_s, _, end_s = item.strip().partition("-")
        start, end = _minutes(start_s, spec, False), _minutes(end_s, spec, True)
        if end <= start:
            raise ScheduleError(spec, f"time range {item!r} ends before it starts")
        out.append((start, end))
    return out


def parse_weekly(spec) -> dict[int, tuple[tuple[int, int], ...]]:
    """{"mon-fri": "08:00-20:00", "sat": "10:00-14:00"} -> {weekday: ((start, end), ...)}."""
    if not isinstance(spec, dict) or not spec:
        raise ScheduleError("", "a weekly schedule is a mapping of days to \"HH:MM-HH:MM\"")
    week: dict[int, list[tuple[int, int]]] = {}
    for days, value in spec.items():
        for day in _days(days):
            week.setdefault(day, []).extend(_ranges(value, str(days)))
    return {d: tuple(sorted(r)) for d, r in week.items()}


def parse_holidays(value) -> tuple[tuple[holidays_lib.HolidayBase, ...], frozenset[date]]:
    """A country code ("US"), {country, subdiv}, a list of YYYY-MM-DD dates, or a list of those."""
    if value is None:
        return (), frozenset()
    items = value if isinstance(value, list) else [value]
    calendars, dates = [], set()
    for i, item in enumerate(items):
        where = str(i) if isinstance(value, list) else ""
        if isinstance(item, date):  # YAML parses unquoted 2026-12-24 into a date
            dates.add(item)
        elif isinstance(item, str) and re.match(r"^\d{4}-\d{2}-\d{2}$", item):
            try:
                dates.add(date.fromisoformat(item))
            except ValueError:
                raise ScheduleError(where, f"bad date {item!r}") from None
        elif isinstance(item, (str, dict)):
            country = item if isinstance(item, str) else item.get("country")
            subdiv = None if isinstance(item, str) else item.get("subdiv")
            try:
                calendars.append(holidays_lib.country_holidays(str(country).upper(), subdiv=subdiv))
            except (NotImplementedError, KeyError, ValueError, AttributeError) as exc:
                raise ScheduleError(where, f"unknown holiday calendar {item!r}: {exc}") from None
        else:
            raise ScheduleError(where, f"holidays must be a country code or YYYY-MM-DD dates, not {item!r}")
    return tuple(calendars), frozenset(dates)


@dataclass(frozen=True)
class Schedule:
    timezone: str
    week: dict[int, tuple[tuple[int, int], ...]] | None  # None: always open
    calendars: tuple = field(default=(), compare=False)
    dates: frozenset[date] = frozenset()

    @classmethod
    def parse(cls, weekly, timezone: str, holidays=None) -> "Schedule":
        zone(timezone)
        week = None if weekly is None else parse_weekly(weekly)
        calendars, dates = parse_holidays(holidays)
        return cls(timezone=timezone, week=week, calendars=calendars, dates=dates)

    def local(self, now: datetime) -> datetime:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        return now.astimezone(ZoneInfo(self.timezone))

    def is_holiday(self, now: datetime) -> bool:
        day = self.local(now).date()
        return day in self.dates or any(day in cal for cal in self.calendars)

    def is_open(self, now: datetime) -> bool:
        if self.is_holiday(now):
            return False
        if self.week is None:
            return True
        local = self.local(now)
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self.week.get(local.weekday(), ()))
