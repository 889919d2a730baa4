"""The service at a glance, as the supervisor's board, Prometheus and a load balancer read it:
whether its stores answer, the live figures, one day's 15-minute intervals, and what one agent is
doing now (for an agent console (re)loaded mid-call).

Every figure is read from Redis at the moment it is asked for; nothing here writes.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Callable
from zoneinfo import ZoneInfo

import redis
from sqlalchemy import Engine

from contactcenter.model import ContactCenter
from store.db import ping
from store.keys import Keys

from .agents import AgentStates
from .days import parse_day
from .series import day_series, waiting_by_minute
from .stats import live_stats

OK = "ok"


class Board:
    def __init__(self, cc: ContactCenter, r: redis.Redis, keys: Keys, engine: Engine, agents: AgentStates,
                 clock: Callable[[], datetime]):
        self.cc, self.r, self.keys, self.engine, self.agents, self.clock = cc, r, keys, engine, agents, clock

    def health(self) -> dict[str, str]:
        """{"redis": ..., "database": ...}: "ok", or "down: <exception type>" (never raises: a health
        check reports)."""
        report = {}
        for name, check in (("redis", self.r.ping), ("database", lambda: ping(self.engine))):
            try:
                check()
                report[name] = OK
            except Exception as exc:  # noqa: BLE001 - a health check reports, it does not raise
                report[name] = f"down: {type(exc).__name__}"
        return report

    @staticmethod
    def healthy(report: dict[str, str]) -> bool:
        return all(v == OK for v in report.values())

    def figures(self) -> dict:
        """The live figures of /api/stats, its event stream and /metrics."""
        return live_stats(self.r, self.keys, self.cc, self.clock())

    def today(self) -> date:
        """Today in the contact center's time zone (the reports' and the charts' default day)."""
        return self.clock().astimezone(ZoneInfo(self.cc.timezone)).date()

    def day_intervals(self, day: str | None) -> dict:
        """`day`'s (YYYY-MM-DD; empty or None: today's) 15-minute intervals per queue, and the callers
        waiting at each minute's last sample."""
        now = self.clock()
        wanted = parse_day("day", day, now.astimezone(ZoneInfo(self.cc.timezone)).date())
        return {"day": wanted.isoformat(), "timezone": self.cc.timezone,
                "queues": day_series(self.r, self.keys, self.cc, wanted, now),
                "waiting_by_minute": waiting_by_minute(self.r, self.keys, self.cc, wanted)}

    def agent_now(self, agent_id: str) -> dict:
        """{"status", "call": {"call_sid", "queue", "answered_at"} or None}: the call only while the
        agent is busy with it or wrapping it up."""
        live = self.agents.get(agent_id) or {}
        status = live.get("status", "offline")
        call = None
        if status in ("busy", "wrapup") and live.get("call"):
            sid = live["call"]
            state = self.r.hmget(self.keys.call(sid), "queue", "answered_at")
            queue, answered = (v.decode() if v is not None else None for v in state)
            call = {"call_sid": sid, "queue": queue, "answered_at": float(answered) if answered else None}
        return {"status": status, "call": call}
