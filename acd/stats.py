"""Live figures for supervisors (CONTRACT.md, "Stats"), from the ACD's own counters and
state in Redis — never from scanning call records.

Definitions as in the contract: service level = answered within the queue's threshold ÷
(answered + abandoned − short abandons); ASA = mean wait of answered calls; AHT = mean
talk + wrap-up of answered calls; agents by status count those holding the queue's skills.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

import redis

from contactcenter.model import ContactCenter
from store.keys import Keys

from .agents import AgentStates, holding
from .scripts import buckets
from .staffing import staffing

STATUSES = ("available", "reserved", "busy", "wrapup", "break", "offline")


def _floats(raw: dict) -> dict[str, float]:
    return {k.decode(): float(v) for k, v in raw.items()}


def _ratio(a: float, b: float, digits: int = 3) -> float | None:
    return round(a / b, digits) if b else None


WORKING = ("busy", "wrapup")
STAFFED = ("available", "reserved", "busy", "wrapup")


def occupancy(counters: dict[str, float], status: str | None, in_status_s: float) -> float | None:
    """Share of the agent's staffed time today (available, reserved, busy, wrap-up) spent on calls
    (busy, wrap-up), the status they are in now counted up to now; None before any staffed time."""
    working = sum(counters.get(f"s_{s}", 0) for s in WORKING) + (in_status_s if status in WORKING else 0)
    staffed = sum(counters.get(f"s_{s}", 0) for s in STAFFED) + (in_status_s if status in STAFFED else 0)
    return round(working / staffed, 3) if staffed > 0 else None


def breaks(counters: dict[str, float], state: dict, in_status_s: float) -> dict[str, float]:
    """Today's break time per reason (s), the break under way counted up to now."""
    out = {k.removeprefix("s_break:"): v for k, v in counters.items() if k.startswith("s_break:")}
    if state.get("status") == "break" and state.get("reason"):
        out[state["reason"]] = out.get(state["reason"], 0) + in_status_s
    return {k: round(v, 1) for k, v in sorted(out.items())}


def queue_today(counters: dict[str, float]) -> dict:
    answered = counters.get("answered", 0)
    abandoned = counters.get("abandoned", 0)
    short = counters.get("short_abandoned", 0)
    return {
        "offered": int(counters.get("offered", 0)),
        "answered": int(answered),
        "abandoned": int(abandoned),
        "short_abandoned": int(short),
        "service_level": _ratio(counters.get("answered_sl", 0), answered + abandoned - short),
        "asa_s": _ratio(counters.get("answer_wait_s", 0), answered, 2),
        "aht_s": _ratio(counters.get("talk_s", 0) + counters.get("wrap_s", 0), answered, 2),
        "longest_wait_s": round(counters.get("longest_wait_s", 0), 1),
        "callbacks": int(counters.get("callbacks", 0)),
        "callbacks_served": int(counters.get("callbacks_served", 0)),
        "overflowed": int(counters.get("overflowed", 0)),
        "transferred_in": int(counters.get("transferred_in", 0)),
        "transferred_out": int(counters.get("transferred_out", 0)),
        "hold_s": round(counters.get("hold_s", 0), 1),
    }


def _monitor(monitors: dict) -> dict | None:
    """Who monitors the agent's call, and how (the first supervisor on it), from its monitors hash."""
    for username, raw in monitors.items():
        return {"by": username.decode(), "mode": json.loads(raw).get("mode")}
    return None


def live_stats(r: redis.Redis, keys: Keys, cc: ContactCenter, now: datetime) -> dict:
    day = buckets(now, cc.timezone).split("|")[0]
    agents = AgentStates(r, keys).all()
    queues = {}
    for name, queue in cc.queues.items():
        waiting = [x.decode() for x in r.zrange(keys.queue(name), 0, -1)]
        with r.pipeline(transaction=False) as pipe:
            for sid in waiting:
                pipe.hmget(keys.call(sid), "enqueued_at", "callback")
            rows = pipe.execute()
        waits = [now.timestamp() - float(e) for e, cb in rows if e and not cb]
        by_status = {**dict.fromkeys(STATUSES, 0), **holding(agents, queue.skills)}
        day_counters = _floats(r.hgetall(keys.queue_stats(name, day)))
        logged_in = sum(n for status, n in by_status.items() if status != "offline")
        queues[name] = {
            "waiting": len(waiting),
            "longest_wait_s": round(max(waits), 1) if waits else 0,
            "callbacks_pending": sum(1 for _, cb in rows if cb),
            "agents": by_status,
            "today": queue_today(day_counters),
            "staffing": staffing(r, keys, queue, now, cc.timezone, logged_in, day_counters).as_dict(),
        }
    agent_rows = {}
    with r.pipeline(transaction=False) as pipe:      # one round trip for every agent's figures and monitors
        for agent_id, state in agents.items():
            pipe.hgetall(keys.agent_stats(agent_id, day))
            if state.get("status") == "busy" and state.get("call"):
                pipe.hgetall(keys.monitors(state["call"]))
            else:
                pipe.echo("")                       # keeps the answers in pairs: no call, no monitor
        read = pipe.execute()
    for (agent_id, state), raw, monitors in zip(agents.items(), read[::2], read[1::2], strict=True):
        counters = _floats(raw)
        since = float(state["since"]) if state.get("since") else None
        agent_rows[agent_id] = {
            "status": state.get("status"),
            "since": datetime.fromtimestamp(since, timezone.utc).isoformat() if since else None,
            "calls": int(counters.get("calls", 0)),
            "talk_s": round(counters.get("talk_s", 0), 1),
            "occupancy": occupancy(counters, state.get("status"), now.timestamp() - since if since else 0),
            "missed": int(counters.get("misses", 0)),
            "hold_s": round(counters.get("hold_s", 0), 1),
            "call_sid": state.get("call") if state.get("status") in ("busy", "reserved", "wrapup") else None,
            "reason": state.get("reason") if state.get("status") == "break" else None,
            "breaks": breaks(counters, state, now.timestamp() - since if since else 0),
            "monitor": _monitor(monitors) if isinstance(monitors, dict) else None,
        }
    self_service = r.hget(keys.ivr_stats(day), "self_service")
    return {"queues": queues, "agents": agent_rows, "self_service": int(float(self_service or 0))}
