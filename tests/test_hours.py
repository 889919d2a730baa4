"""Opening hours in their own time zone, holidays, DST, with an injected clock."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from contactcenter.hours import Schedule

UTC = timezone.utc
WEEKLY = {"mon-fri": "08:00-20:00", "sat": "10:00-14:00"}


@pytest.mark.parametrize("tz, utc_time, is_open", [
    # New York (UTC-5 in November): Monday 2026-11-23
    ("America/New_York", datetime(2026, 11, 23, 12, 59, tzinfo=UTC), False),   # 07:59 local
    ("America/New_York", datetime(2026, 11, 23, 13, 0, tzinfo=UTC), True),     # 08:00 local
    ("America/New_York", datetime(2026, 11, 24, 0, 59, tzinfo=UTC), True),     # Mon 19:59 local
    ("America/New_York", datetime(2026, 11, 24, 1, 0, tzinfo=UTC), False),     # Mon 20:00 local
    # Tokyo (UTC+9): Monday 08:00 local is Sunday 23:00 UTC
    ("Asia/Tokyo", datetime(2026, 11, 22, 23, 0, tzinfo=UTC), True),
    ("Asia/Tokyo", datetime(2026, 11, 22, 22, 59, tzinfo=UTC), False),
    # Saturday in Madrid (UTC+1): 10:00-14:00
    ("Europe/Madrid", datetime(2026, 11, 28, 9, 30, tzinfo=UTC), True),        # 10:30 local
    ("Europe/Madrid", datetime(2026, 11, 28, 13, 0, tzinfo=UTC), False),       # 14:00 local
    # Sunday: closed everywhere
    ("Australia/Sydney", datetime(2026, 11, 29, 0, 0, tzinfo=UTC), False),     # Sun 11:00 local
])
def test_open_in_own_time_zone(tz, utc_time, is_open):
    assert Schedule.parse(WEEKLY, tz).is_open(utc_time) is is_open


def test_daylight_saving_moves_the_utc_opening():
    sched = Schedule.parse({"mon-sun": "09:00-10:00"}, "America/New_York")
    # Before the 2026-03-08 switch 09:00 is 14:00 UTC, after it 13:00 UTC.
    assert sched.is_open(datetime(2026, 3, 6, 14, 30, tzinfo=UTC))
    assert not sched.is_open(datetime(2026, 3, 9, 14, 30, tzinfo=UTC))
    assert sched.is_open(datetime(2026, 3, 9, 13, 30, tzinfo=UTC))


def test_country_holidays_close_the_day_in_local_time():
    sched = Schedule.parse(WEEKLY, "America/New_York", "US")
    thanksgiving_noon = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)
    assert not sched.is_open(thanksgiving_noon)
    assert sched.is_holiday(thanksgiving_noon)
    # 01:00 UTC on the 27th is still the 26th (20:00) in New York: a holiday, and closed anyway
    assert sched.is_holiday(datetime(2026, 11, 27, 1, 0, tzinfo=UTC))
    assert sched.is_open(datetime(2026, 11, 27, 17, 0, tzinfo=UTC))        # Friday after


def test_subdivision_and_explicit_dates():
    sched = Schedule.parse(WEEKLY, "Europe/Madrid", [{"country": "ES", "subdiv": "MD"}, "2026-12-24"])
    assert not sched.is_open(datetime(2026, 12, 24, 10, 0, tzinfo=UTC))     # explicit date
    assert not sched.is_open(datetime(2026, 12, 8, 10, 0, tzinfo=UTC))      # Inmaculada Concepción
    assert sched.is_open(datetime(2026, 12, 22, 10, 0, tzinfo=UTC))


def test_24_00_end_and_split_ranges():
    sched = Schedule.parse({"mon": ["00:00-06:00", "22:00-24:00"]}, "UTC")
    monday = datetime(2026, 11, 23, tzinfo=UTC)
    assert sched.is_open(monday.replace(hour=23, minute=59))
    assert sched.is_open(monday.replace(hour=5, minute=59))
    assert not sched.is_open(monday.replace(hour=12))
    assert not sched.is_open(datetime(2026, 11, 24, 0, 0, tzinfo=UTC))    # Tuesday 00:00


def test_no_weekly_means_always_open_except_holidays():
    sched = Schedule.parse(None, "UTC", ["2026-01-01"])
    assert sched.is_open(datetime(2026, 11, 29, 3, 0, tzinfo=UTC))
    assert not sched.is_open(datetime(2026, 1, 1, 12, 0, tzinfo=UTC))


def test_naive_time_is_refused():
    with pytest.raises(ValueError):
        Schedule.parse(WEEKLY, "UTC").is_open(datetime(2026, 11, 23, 12, 0))
