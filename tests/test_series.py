"""The day through 15-minute intervals for the supervisor's chart: counters and waiting samples."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from acd.series import day_series, sample_waiting

T = datetime(2026, 11, 23, 15, 7, tzinfo=timezone.utc)       # 10:07 in New York


def test_waiting_samples_and_counters_make_the_days_points(app, staffed, twilio, redis_client):
    rt = app.extensions["callrouter"]
    sample_waiting(rt.redis, rt.keys, rt.cc, T)                            # nobody waiting
    twilio.call().dial().press("1")
    twilio.call(from_="+12125550177").dial().press("1")
    sample_waiting(rt.redis, rt.keys, rt.cc, T + timedelta(seconds=1))     # two waiting
    sample_waiting(rt.redis, rt.keys, rt.cc, T + timedelta(seconds=2))
    series = day_series(rt.redis, rt.keys, rt.cc, date(2026, 11, 23), T)
    billing = series["billing"]
    assert len(billing) == 41 and billing[0]["start"] == "2026-11-23T00:00-05:00"    # 00:00 .. 10:00
    last = billing[-1]
    assert last["start"] == "2026-11-23T10:00-05:00" and last["offered"] == 2
    assert last["waiting_peak"] == 2 and last["waiting_avg"] == round(4 / 3, 2)
    assert billing[0]["waiting_avg"] is None and billing[0]["service_level"] is None


def test_the_intervals_api_is_for_the_admin(app, staffed):
    client = app.test_client()
    assert client.get("/api/stats/intervals").status_code == 401
    answer = client.get("/api/stats/intervals?day=2026-11-22", headers={"Authorization": "Bearer test-admin-token"})
    assert answer.status_code == 200 and len(answer.get_json()["queues"]["tech"]) == 96
    bad = client.get("/api/stats/intervals?day=soon", headers={"Authorization": "Bearer test-admin-token"})
    assert bad.status_code == 400


def test_each_minutes_last_sample_is_kept_for_the_waiting_now_line_after_a_reload(app, staffed, twilio, clock):
    rt = app.extensions["callrouter"]
    sample_waiting(rt.redis, rt.keys, rt.cc, T)                            # 10:07:00, nobody
    twilio.call().dial().press("1")
    sample_waiting(rt.redis, rt.keys, rt.cc, T + timedelta(seconds=30))    # 10:07:30, one: the minute's last
    twilio.call(from_="+12125550177").dial().press("1")
    sample_waiting(rt.redis, rt.keys, rt.cc, T + timedelta(minutes=1))     # 10:08, two
    clock.now = T + timedelta(minutes=1, seconds=5)
    answer = app.test_client().get("/api/stats/intervals", headers={"Authorization": "Bearer test-admin-token"})
    minutes = answer.get_json()["waiting_by_minute"]
    at = int(T.timestamp()) // 60 * 60
    assert minutes["billing"] == [[at, 1], [at + 60, 2]]
    assert minutes["tech"] == [[at, 0], [at + 60, 0]]
    assert rt.redis.ttl(rt.keys.queue_waiting_minutes("billing", "20261123")) > 86400
