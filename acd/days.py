"""Days that requests name (`YYYY-MM-DD`): read, bounded and spanned in this one place for every
reader (reports, call history, the day's intervals, an agent's calls).

A day is refused with `Invalid` unless it is a real date in the years 2000 to 2100: far outside
them a day's bounds in a time zone overflow what `datetime` holds (9999-12-31 plus a day,
0001-01-01 minus an offset), and nothing this service records lies there.
"""
from __future__ import annotations

import re
from datetime import date

from contactcenter.errors import Invalid

FIRST_YEAR, LAST_YEAR = 2000, 2100
FIRST_DAY, LAST_DAY = date(FIRST_YEAR, 1, 1), date(LAST_YEAR, 12, 31)
# ASCII digits only: `date.fromisoformat` takes other forms too (20261123, 2026-W48-1), which the
# API never promised.
ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def parse_day(name: str, raw: str | None, default: date, what: str = "a date YYYY-MM-DD") -> date:
    """The day `raw` names (`default` when it is empty or missing); `name` and `what` (the forms
    accepted) word the refusal."""
    if raw is None or raw == "":
        return default
    day = None
    if isinstance(raw, str) and ISO_DAY.fullmatch(raw):
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            pass
    if day is None:
        raise Invalid(f"{name} must be {what}, not {str(raw)[:40]!r}")
    if not FIRST_DAY <= day <= LAST_DAY:
        raise Invalid(f"{name} must be a day of the years {FIRST_YEAR} to {LAST_YEAR}, not {raw}")
    return day


def check_span(first: date, last: date, max_days: int | None = None) -> None:
    """Refuse a range that runs backwards or, with `max_days`, spans more days than that."""
    if last < first:
        raise Invalid("the range must run forwards: to must not be before from")
    if max_days is not None and (last - first).days >= max_days:
        raise Invalid(f"the range must run forwards and span at most {max_days} days")
