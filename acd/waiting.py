"""The callers waiting in line, as a supervisor sees them, and a supervisor's hand in who takes one.

`listing` reads every queue's line and each waiting caller's call hash and journey in one pipelined
round trip: who (number, contact), which queue and place, how long they have waited, their priority,
the skills they need now (after escalations), whether they asked to be called back, and the steps of
their journey (the screen pop puts them into words). `assign` offers one of them to a chosen
available agent at once (acd/lua/assign_call.lua): the offer is like any other, so it may time out or
be rejected and the caller keeps their place meanwhile.
"""
from __future__ import annotations

import json
from datetime import datetime

from contactcenter.errors import Conflict, NotFound

from .controls import _text
from .queueing import PRIORITY_CREDIT_S
from .routing import Offer

REFUSED = {"not_waiting": "this caller is not waiting any more (offered, connected or gone)",
           "agent_not_available": "the agent is not available (on a call, offered one, on break or offline)"}


def _priority(call: dict) -> int:
    """The points of priority the caller's place in line carries (queue, VIP and routing bonuses):
    how many credits their score is ahead of their arrival in this queue."""
    try:
        ahead = float(call["enqueued_at"]) - float(call["score"]) / 1000
    except (KeyError, ValueError):
        return 0
    return max(0, round(ahead / PRIORITY_CREDIT_S))


class WaitingCallers:
    def __init__(self, acd):
        self.acd = acd

    def listing(self, now: datetime, queue: str | None = None) -> list[dict]:
        """Every waiting caller (of `queue`, or of all queues), those being offered to an agent now
        included (no place in line meanwhile), longest wait first."""
        acd = self.acd
        names = [queue] if queue else list(acd.cc.queues)
        lines = {name: [_text(x) for x in acd.r.zrange(acd.keys.queue(name), 0, -1)] for name in names}
        sids = [(name, place, sid) for name, line in lines.items() for place, sid in enumerate(line, 1)]
        offered = self._offered(names)          # out of line while an agent is offered them
        sids += [(name, None, sid) for sid, (name, _) in offered.items()]
        with acd.r.pipeline(transaction=False) as pipe:
            for _, _, sid in sids:
                pipe.hgetall(acd.keys.call(sid))
                pipe.lrange(acd.keys.journey(sid), 0, -1)
            read = pipe.execute()
        out = []
        for (name, place, sid), raw, steps in zip(sids, read[::2], read[1::2], strict=True):
            call = {_text(k): _text(v) for k, v in raw.items()}
            if call.get("acd") not in ("waiting", "offered"):
                continue
            since = float(call.get("enqueued_at") or now.timestamp())
            out.append({
                "call_sid": sid, "queue": name, "position": place, "from": call.get("from"),
                "contact": call.get("contact_name") or None,
                "waited_s": round(max(0.0, now.timestamp() - since), 1),
                "priority": _priority(call),
                "skills": json.loads(call["req"]) if call.get("req") else {},
                "callback": bool(call.get("callback")), "state": call.get("acd"),
                "offered_to": offered[sid][1] if sid in offered else None,
                "steps": [json.loads(s) for s in steps], "call": call,
            })
        out.sort(key=lambda c: -c["waited_s"])
        return out

    def _offered(self, queues: list[str]) -> dict[str, tuple[str, str]]:
        """Callers of `queues` an agent is being offered now: call sid -> (queue, agent)."""
        acd = self.acd
        held = [(agent, state["offer"]) for agent, state in acd.agents.all().items()
                if state.get("status") == "reserved" and state.get("offer")]
        with acd.r.pipeline(transaction=False) as pipe:
            for _, rid in held:
                pipe.hmget(acd.keys.offer(rid), "call", "queue", "state")
            read = pipe.execute()
        return {_text(call): (_text(queue), agent) for (agent, _), (call, queue, state) in zip(held, read, strict=True)
                if call and state == b"pending" and _text(queue) in queues}

    def assign(self, call_sid: str, agent_id: str, by: str, now: datetime) -> dict:
        """Offer the waiting caller to the agent now: {call_sid, agent, reservation_id}."""
        acd = self.acd
        rid, why = acd.router.assign(call_sid, agent_id, by, now)
        if rid is None:
            if why == "unknown_agent":
                raise NotFound(f"unknown agent {agent_id!r}")
            raise Conflict(REFUSED.get(why, why or "the caller could not be assigned"))
        acd.after([Offer(rid, call_sid, agent_id)], now)
        return {"call_sid": call_sid, "agent": agent_id, "reservation_id": rid}
