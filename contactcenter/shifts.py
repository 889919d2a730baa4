"""Agents' time: are they on shift now (weekly schedule in their own IANA zone),
and which country their time zone is in (for follow-the-sun routing)."""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from importlib import resources

from .hours import Schedule


@lru_cache(maxsize=4096)
def _schedule(schedule_key: tuple, timezone: str) -> Schedule:
    return Schedule.parse(dict(schedule_key) if schedule_key else None, timezone)


def on_shift(schedule: dict | None, timezone: str, now: datetime) -> bool:
    """No schedule means always on shift."""
    if not schedule:
        return True
    return _schedule(tuple(sorted(schedule.items())), timezone).is_open(now)


@lru_cache(maxsize=1)
def _zone_countries() -> dict[str, str]:
    """IANA zone -> ISO country, from the tzdata package's zone.tab."""
    text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            parts = line.split("\t")
            if len(parts) >= 3:
                out[parts[2]] = parts[0]
    return out


def country_of(timezone: str) -> str:
    """'Europe/Madrid' -> 'ES'; '' for zones without a country (UTC, Etc/…)."""
    return _zone_countries().get(timezone, "")
