"""The day through 15-minute intervals, from the ACD's interval counters in Redis, for the
supervisor's chart: per queue, each interval's offered, answered, abandoned, service level, ASA
and how many callers were waiting (average and peak of once-a-second samples).

`sample_waiting` is the sampler: the worker's ticker calls it once a second. With several workers
a second may be sampled twice, which leaves the average and the peak as they were. Each minute's last
sample is kept too, for the chart's "waiting now" line over the day (the page draws the stream's
live figures on from there, so a reload loses nothing).
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import redis

from contactcenter.model import ContactCenter
from store.keys import Keys

from .scripts import buckets

INTERVAL = timedelta(minutes=15)
KEEP_S = 2 * 86400          # the minutes of a day, kept as long as the day counters


def sample_waiting(r: redis.Redis, keys: Keys, cc: ContactCenter, now: datetime) -> None:
    day, interval = buckets(now, cc.timezone).split("|")
    minute = int(now.timestamp()) // 60 * 60
    names = list(cc.queues)
    with r.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.zcard(keys.queue(name))
            pipe.hget(keys.queue_stats(name, interval), "waiting_peak")
        got = pipe.execute()
    with r.pipeline(transaction=False) as pipe:
        for i, name in enumerate(names):
            waiting, peak = got[2 * i], float(got[2 * i + 1] or 0)
            key = keys.queue_stats(name, interval)
            pipe.hincrby(key, "waiting_samples", 1)
            pipe.hincrby(key, "waiting_sum", waiting)
            if waiting > peak:
                pipe.hset(key, "waiting_peak", waiting)
            minutes = keys.queue_waiting_minutes(name, day)
            pipe.hset(minutes, minute, waiting)
            pipe.expire(minutes, KEEP_S)
        pipe.execute()


def _point(start: datetime, c: dict[str, float]) -> dict:
    answered, abandoned = c.get("answered", 0), c.get("abandoned", 0)
    judged = answered + abandoned - c.get("short_abandoned", 0)
    samples = c.get("waiting_samples", 0)
    return {
        "start": start.isoformat(timespec="minutes"),
        "offered": int(c.get("offered", 0)),
        "answered": int(answered),
        "abandoned": int(abandoned),
        "service_level": round(c.get("answered_sl", 0) / judged, 3) if judged else None,
        "asa_s": round(c.get("answer_wait_s", 0) / answered, 2) if answered else None,
        "waiting_avg": round(c.get("waiting_sum", 0) / samples, 2) if samples else None,
        "waiting_peak": int(c.get("waiting_peak", 0)) if samples else None,
    }


def waiting_by_minute(r: redis.Redis, keys: Keys, cc: ContactCenter, day: date) -> dict[str, list[list[int]]]:
    """Per queue, [[minute (epoch s), callers waiting], ...] of `day` (local) in time order."""
    label = f"{day:%Y%m%d}"
    with r.pipeline(transaction=False) as pipe:
        for name in cc.queues:
            pipe.hgetall(keys.queue_waiting_minutes(name, label))
        rows = pipe.execute()
    return {name: sorted([int(t), int(n)] for t, n in row.items()) for name, row in zip(cc.queues, rows, strict=True)}


def day_series(r: redis.Redis, keys: Keys, cc: ContactCenter, day: date, now: datetime) -> dict[str, list[dict]]:
    """Every interval of `day` (local) up to now, per queue."""
    zone = ZoneInfo(cc.timezone)
    start = datetime.combine(day, time(), zone)
    day_end = datetime.combine(day + timedelta(days=1), time(), zone)
    starts = []
    t = start
    while t < day_end and t <= now:
        starts.append(t)
        t = (t.astimezone(ZoneInfo("UTC")) + INTERVAL).astimezone(zone)     # DST days have 92 or 100
    labels = [buckets(s, cc.timezone).split("|")[1] for s in starts]
    out = {}
    for name in cc.queues:
        with r.pipeline(transaction=False) as pipe:
            for label in labels:
                pipe.hgetall(keys.queue_stats(name, label))
            rows = pipe.execute()
        out[name] = [_point(s, {k.decode(): float(v) for k, v in row.items()})
                     for s, row in zip(starts, rows, strict=True)]
    return out
