"""Erlang C staffing advice per queue: the classic worked example, the last-hour window of
15-minute counters, and the advice read from a real Redis."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from acd.staffing import advise, staffing, window
from contactcenter.model import Queue
from store.keys import Keys

BILLING = Queue("billing", skills={"billing": 1}, service_level_s=20)


def test_the_classic_example_100_calls_per_half_hour_180_s_20_s():
    # 100 calls per 30 minutes, AHT 180 s, 80 % within 20 s: 10 Erlangs, 14 agents needed (see acd/erlang.py
    # for the figures; 13 agents give 79.6 %, 14 give 88.8 %). With 12 logged in: 64.0 %, ASA 40.4 s.
    advice = advise(BILLING, offered=200, answered=200, handle_s=200 * 180, window_s=3600, logged_in=12)
    assert advice.arrival_rate_per_h == 200 and advice.aht_s == 180 and advice.offered_erlangs == 10
    assert advice.agents_needed == 14 and advice.agents_logged_in == 12
    assert advice.predicted_service_level == pytest.approx(0.640, abs=1e-3)
    assert advice.predicted_asa_s == pytest.approx(40.4, abs=0.1)
    # with 10 logged in the load equals the staffing: no service level, no finite wait
    short = advise(BILLING, offered=200, answered=200, handle_s=200 * 180, window_s=3600, logged_in=10)
    assert short.predicted_service_level == 0 and short.predicted_asa_s is None


def test_a_quiet_hour_borrows_todays_handle_time_and_an_empty_day_gives_no_advice():
    quiet = advise(BILLING, offered=0, answered=0, handle_s=0, window_s=3600, logged_in=2, day_aht_s=240)
    assert quiet.aht_s == 240 and quiet.agents_needed == 0 and quiet.predicted_service_level == 1.0
    empty = advise(BILLING, offered=3, answered=0, handle_s=0, window_s=3600, logged_in=2)
    assert empty.aht_s is None and empty.agents_needed is None and empty.predicted_service_level is None
    assert empty.arrival_rate_per_h == 3


def test_the_window_is_the_current_quarter_hour_and_three_before():
    labels, seconds = window(datetime(2026, 11, 23, 15, 7, 30, tzinfo=timezone.utc), "America/New_York")
    assert labels == ["20261123T1000", "20261123T0945", "20261123T0930", "20261123T0915"]
    assert seconds == 52 * 60 + 30
    labels, _ = window(datetime(2026, 11, 23, 5, 10, tzinfo=timezone.utc), "America/New_York")
    assert labels == ["20261123T0000", "20261122T2345", "20261122T2330", "20261122T2315"]   # across midnight


def test_staffing_reads_the_interval_counters(redis_client):
    keys = Keys("t")
    now = datetime(2026, 11, 23, 15, 7, 30, tzinfo=timezone.utc)
    for label, offered, answered, talk, wrap in [("20261123T1000", 40, 38, 38 * 150, 38 * 30),
                                                 ("20261123T0915", 60, 62, 62 * 150, 62 * 30),
                                                 ("20261123T0900", 500, 500, 1, 1)]:      # outside the hour
        redis_client.hset(keys.queue_stats("billing", label),
                          mapping={"offered": offered, "answered": answered, "talk_s": talk, "wrap_s": wrap})
    advice = staffing(redis_client, keys, BILLING, now, "America/New_York", logged_in=3, day_counters={})
    assert advice.offered == 100 and advice.window_s == 3150 and advice.aht_s == 180
    assert advice.arrival_rate_per_h == pytest.approx(100 / 3150 * 3600, abs=0.1)
    rate = 100 / 3150
    import erlang
    assert advice.agents_needed == erlang.agents_needed(rate, 180, 20, 0.8)
    assert advice.predicted_service_level == pytest.approx(erlang.service_level(3, rate, 180, 20), abs=1e-3)
