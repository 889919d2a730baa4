"""The agents' status time, from the ACD's day counters in Redis into SQL (store/agent_time.py), for
the reports by agent: logged-in time, occupancy and breaks per reason over any range of days.

Redis keeps an agent's day counters for two days (acd/lua/lib.lua); one worker a minute (a lease)
copies today and yesterday, so the day just ended is complete in SQL by a minute past midnight and
nothing is lost while a worker is down for less than a day. A period is counted on the day it ends
(as the counters do); the status an agent is in now is counted up to now on today's row.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable

import redis

from contactcenter.model import ContactCenter
from store.agent_time import from_counters, replace_day
from store.keys import Keys

from .agents import AgentStates
from .scripts import buckets

EVERY_S = 60


def _day(now: datetime, tz: str) -> str:
    return buckets(now, tz).split("|")[0]          # YYYYMMDD, the counters' day


def copy_agent_time(r: redis.Redis, keys: Keys, cc: ContactCenter, sessions: Callable, now: datetime,
                    force: bool = False) -> int | None:
    """Copy every agent's today and yesterday to SQL, by the worker that takes this minute's lease
    (or at once with `force`); the rows written, or None when another worker has the minute."""
    if not force and not r.set(keys.agent_time_lease(), 1, nx=True, ex=EVERY_S - 1):
        return None
    states = AgentStates(r, keys).all()
    today, yesterday = _day(now, cc.timezone), _day(now - timedelta(days=1), cc.timezone)
    with r.pipeline(transaction=False) as pipe:
        for agent_id in states:
            pipe.hgetall(keys.agent_stats(agent_id, today))
            pipe.hgetall(keys.agent_stats(agent_id, yesterday))
        read = pipe.execute()
    written = 0
    with sessions() as db:
        for (agent_id, state), raw_today, raw_yesterday in zip(states.items(), read[::2], read[1::2], strict=True):
            since = float(state["since"]) if state.get("since") else None
            ongoing = now.timestamp() - since if since else 0.0
            for day, raw, live in ((today, raw_today, True), (yesterday, raw_yesterday, False)):
                counters = {k.decode(): float(v) for k, v in raw.items()}
                seconds = from_counters(counters, state.get("status") if live else None, state.get("reason"),
                                        ongoing if live else 0.0)
                replace_day(db, cc.workspace, f"{day[:4]}-{day[4:6]}-{day[6:]}", agent_id, seconds)
                written += len(seconds)
        db.commit()
    return written
