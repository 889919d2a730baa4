"""A contact center's ACD on the test Redis, without Flask: agents, queues, callers."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from acd.agents import AgentStates
from acd.queueing import enqueue_fields
from acd.routing import Router
from acd.scripts import Scripts
from contactcenter.model import Escalation, Queue
from store.keys import Keys

T0 = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)
FLOOR_TZ = "America/New_York"


class Floor:
    def __init__(self, r, workspace: str = "t", functions: bool | None = None):
        self.r = r
        self.keys = Keys(workspace)
        self.agents = AgentStates(r, self.keys)
        self.router = Router(Scripts(r, self.keys, FLOOR_TZ, functions))
        self.now = T0
        self.calls = 0

    def tick(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now

    def agent(self, agent_id: str, skills: dict, status: str = "available", timezone: str = "UTC", schedule=None):
        self.agents.sync({"id": agent_id, "name": agent_id, "skills": skills, "timezone": timezone,
                          "schedule": schedule}, self.now)
        offers = []
        if status != "offline":
            offers = self.router.set_status(agent_id, status, self.now)[2]
        return offers

    def call(self, queue: Queue, from_: str = "+14155550123", sid: str | None = None, **kw):
        self.calls += 1
        sid = sid or f"CA{self.calls:032d}"
        self.r.hset(self.keys.call(sid), mapping={"from": from_, "status": "ivr"})
        fields, timers = enqueue_fields(queue, None, from_, self.now, call_sid=sid, **kw)
        self.last_status, offers = self.router.enqueue(sid, fields, timers, self.now, from_,
                                                       queue.preferred_agent_wait_s)
        return sid, offers

    def talking(self, queue: Queue, agent_id: str, **kw) -> str:
        """A caller of `queue` offered to `agent_id` (the only one free for them), accepted and connected."""
        sid, offers = self.call(queue, **kw)
        assert [o.agent_id for o in offers] == [agent_id], offers
        self.router.answer(offers[0].reservation_id, "accept", self.now)
        self.router.connected(sid, self.now)
        return sid

    def status(self, agent_id: str) -> str:
        return self.r.hget(self.keys.agent(agent_id), "status").decode()

    def acd(self, sid: str) -> str | None:
        v = self.r.hget(self.keys.call(sid), "acd")
        return v.decode() if v else None

    def waiting(self, queue: str) -> list[str]:
        return [x.decode() for x in self.r.zrange(self.keys.queue(queue), 0, -1)]

    @staticmethod
    def day(at: datetime) -> str:
        """The statistics day of `at` in the floor's contact center (New York time)."""
        return at.astimezone(ZoneInfo(FLOOR_TZ)).strftime("%Y%m%d")

    def stats(self, queue: str) -> dict:
        day = self.day(self.now)
        raw = self.r.hgetall(self.keys.queue_stats(queue, day))
        return {k.decode(): float(v) for k, v in raw.items()}


def queue(name: str = "billing", **kw) -> Queue:
    kw.setdefault("skills", {"billing": 1})
    if "escalate" in kw:
        kw["escalate"] = tuple(Escalation(a, s) for a, s in kw["escalate"])
    return Queue(name=name, **kw)
