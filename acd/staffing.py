"""Erlang C staffing advice per queue: from the last hour's arrivals and handle time, how many
agents the queue's service-level target needs, beside how many are logged in, and the service
level Erlang C predicts with them.

The last hour is read from the ACD's 15-minute interval counters (`stats:queue:<q>:<interval>`):
the current interval and the three before it, so the window is 45 to 60 minutes long and its
length is exact (from the start of the oldest interval to now). Handle time is talk + wrap-up of
the calls answered in that window, or of today's when none was (a quiet hour still gets advice if
the day has taught us the handle time).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import redis

import erlang
from contactcenter.model import Queue
from store.keys import Keys

from .scripts import buckets

INTERVALS = 4                       # the current 15-minute interval and the three before it
DEFAULT_TARGET = Queue.service_level_target      # 80 % within the queue's service_level_s


@dataclass(frozen=True)
class Advice:
    window_s: float
    offered: int
    arrival_rate_per_h: float
    aht_s: float | None
    offered_erlangs: float | None
    target: float
    target_s: int
    agents_needed: int | None       # None: no handle time known yet, or a load no staffing meets
    agents_logged_in: int
    predicted_service_level: float | None
    predicted_asa_s: float | None

    def as_dict(self) -> dict:
        return asdict(self)


def window(now: datetime, timezone: str) -> tuple[list[str], float]:
    """The interval labels of the last hour and the window's length in seconds."""
    labels = []
    for k in range(INTERVALS):
        label = buckets(now - timedelta(minutes=15 * k), timezone).split("|")[1]
        if label not in labels:
            labels.append(label)
    minute = now.minute - now.minute % 15
    start = now.replace(minute=minute, second=0, microsecond=0) - timedelta(minutes=15 * (INTERVALS - 1))
    return labels, max(1.0, (now - start).total_seconds())


def advise(queue: Queue, offered: float, answered: float, handle_s: float, window_s: float,
           logged_in: int, target: float = DEFAULT_TARGET, day_aht_s: float | None = None) -> Advice:
    """Pure: the advice for these counts (handle_s = talk + wrap-up of the `answered` calls)."""
    rate_s = offered / window_s
    aht = handle_s / answered if answered else day_aht_s
    needed = predicted = asa = load = None
    if aht:
        load = rate_s * aht
        try:
            needed = erlang.agents_needed(rate_s, aht, queue.service_level_s, target) if rate_s > 0 else 0
        except ValueError:
            needed = None
        predicted = erlang.service_level(logged_in, rate_s, aht, queue.service_level_s) if rate_s > 0 else 1.0
        asa = erlang.asa(logged_in, rate_s, aht) if rate_s > 0 else 0.0
        asa = None if asa == float("inf") else round(asa, 1)
    return Advice(window_s=round(window_s), offered=int(offered), arrival_rate_per_h=round(rate_s * 3600, 1),
                  aht_s=round(aht, 1) if aht else None, offered_erlangs=round(load, 2) if load is not None else None,
                  target=target, target_s=queue.service_level_s, agents_needed=needed, agents_logged_in=logged_in,
                  predicted_service_level=round(predicted, 3) if predicted is not None else None,
                  predicted_asa_s=asa)


def staffing(r: redis.Redis, keys: Keys, queue: Queue, now: datetime, timezone: str, logged_in: int,
             day_counters: dict[str, float]) -> Advice:
    labels, window_s = window(now, timezone)
    with r.pipeline(transaction=False) as pipe:
        for label in labels:
            pipe.hmget(keys.queue_stats(queue.name, label), "offered", "answered", "talk_s", "wrap_s")
        rows = pipe.execute()
    sums = [sum(float(row[i] or 0) for row in rows) for i in range(4)]
    answered_today = day_counters.get("answered", 0)
    day_aht = (day_counters.get("talk_s", 0) + day_counters.get("wrap_s", 0)) / answered_today \
        if answered_today else None
    return advise(queue, sums[0], sums[1], sums[2] + sums[3], window_s, logged_in,
                  target=queue.service_level_target, day_aht_s=day_aht)
