"""An agent in control of a connected call, and a supervisor on it: hold, mute, monitoring, and the
legs of everyone in the call's conference (acd/conference.py).

Twilio first, then the ACD: a REST change of a participant is made before the script that counts
it (hold time, who is on the call), so that a refused change counts nothing. Twilio's own callbacks
confirm or correct it later (a participant's leg answered, left; the caller held), each handled once
however often or late it comes. Transfers and three-way calls are acd/transfers.py.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Callable

import redis

from contactcenter.errors import Conflict, Invalid, NotAllowed, NotFound
from contactcenter.model import ContactCenter
from store.keys import Keys

from .agents import qualifies
from .conference import ConferenceLine, Gone
from .queueing import requirements
from .routing import Offer, Router

log = logging.getLogger(__name__)
MONITOR_MODES = ("listen", "whisper", "barge", "off")
LEGS_TTL_S = 86_400
FAILED_LEG = frozenset({"busy", "no-answer", "failed", "canceled"})


def supervisor_identity(username: str) -> str:
    """The `<Client>` identity a supervisor's softphone registers as (agents use their id)."""
    return f"supervisor-{username}"


def _text(value) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


class CallControls:
    def __init__(self, r: redis.Redis, keys: Keys, router: Router, line: ConferenceLine, cc: ContactCenter,
                 url_for: Callable[[str, str], str], after: Callable[[list[Offer], datetime], None]):
        self.r, self.keys, self.router, self.line, self.cc = r, keys, router, line, cc
        self.url_for = url_for             # (call sid, path) -> absolute URL for Twilio
        self.after = after                 # offers made -> auto-accepting agents take theirs

    # -- what is known of a call ---------------------------------------------------------
    def call(self, sid: str) -> dict[str, str]:
        raw = self.r.hgetall(self.keys.call(sid))
        if not raw:
            raise NotFound("no call with that CallSid")
        return {_text(k): _text(v) for k, v in raw.items()}

    def legs(self, sid: str) -> dict[str, str]:
        return {_text(k): _text(v) for k, v in self.r.hgetall(self.keys.legs(sid)).items()}

    def remember_leg(self, sid: str, **legs: str) -> None:
        key = self.keys.legs(sid)
        self.r.hset(key, mapping=legs)
        self.r.expire(key, LEGS_TTL_S)

    def parties(self, sid: str) -> dict[str, dict]:
        return {_text(k): json.loads(v) for k, v in self.r.hgetall(self.keys.parties(sid)).items()}

    def connected(self, sid: str, by: str | None) -> tuple[dict, dict]:
        """(call, legs) of a call connected to an agent in its conference; `by` (an agent id, or None
        for a supervisor) must be on it."""
        call = self.call(sid)
        if call.get("acd") != "connected":
            raise Conflict("the call is not connected to an agent")
        if by is not None and by != call.get("agent") and by not in self.parties(sid):
            raise NotAllowed("you are not on this call")
        legs = self.legs(sid)
        if not legs.get("conference_sid") or not legs.get("caller"):
            raise Conflict("the call is not in a conference yet")
        return call, legs

    def view(self, sid: str, by: str | None, supervisor: bool) -> dict:
        """GET /api/calls/<sid>/controls: hold, mute, the transfer under way, parties, monitors."""
        call = self.call(sid)
        if not supervisor and by != call.get("agent") and by not in self.parties(sid):
            raise NotAllowed("you are not on this call")
        legs = self.legs(sid)
        transfer = None
        if call.get("xfer"):
            t = {_text(k): _text(v) for k, v in self.r.hgetall(self.keys.transfer(call["xfer"])).items()}
            transfer = {"id": call["xfer"], "mode": t.get("mode"), "state": t.get("state"), "by": t.get("by"),
                        "agent": t.get("agent") or None, "notes": t.get("notes", ""),
                        "to": {t.get("kind", "agent"): t.get("target")}}
        parties = [{"id": call["agent"], "kind": "agent", "who": call["agent"], "role": "primary",
                    "state": "joined" if call.get("acd") == "connected" else "ringing"}] if call.get("agent") else []
        for pid, p in self.parties(sid).items():
            parties.append({"id": pid, "kind": p.get("kind", "agent"), "who": p.get("who", pid),
                            "role": p.get("role", "party"), "state": p.get("state", "ringing")})
        monitors = []
        if supervisor or self.cc.monitor_notice:
            monitors = [{"by": _text(u), "mode": json.loads(v).get("mode")}
                        for u, v in self.r.hgetall(self.keys.monitors(sid)).items()]
        held_at = call.get("held_at")
        return {"call_sid": sid, "state": call.get("acd"), "agent": call.get("agent"), "queue": call.get("queue"),
                "hold": bool(held_at), "held_since": float(held_at) if held_at else None,
                "hold_s": float(call.get("hold_s") or 0), "mute": legs.get(f"muted:{by}") == "1",
                "transfer": transfer, "parties": parties, "monitors": monitors}

    # -- hold and mute ---------------------------------------------------------------------
    def hold(self, sid: str, by: str | None, on: bool, now: datetime) -> dict:
        """The caller hears the queue's hold music and message (on) or the agent again (off)."""
        if not isinstance(on, bool):
            raise Invalid("hold must be true or false")
        call, legs = self.connected(sid, by)
        if by is not None and by != call.get("agent"):
            raise NotAllowed("only the call's agent holds the caller")
        self.set_caller_hold(sid, legs, on, call.get("queue", ""))
        code, hold_s = self.router.hold(sid, on, now)
        if code < 0:
            raise Conflict("the call is not connected to an agent")
        return {"call_sid": sid, "hold": on, "hold_s": hold_s}

    def set_caller_hold(self, sid: str, legs: dict, on: bool, queue: str) -> None:
        changes = {"hold": on}
        if on:
            changes.update(hold_url=self.url_for(sid, f"/voice/on-hold?queue={queue}"), hold_method="POST")
        try:
            self.line.update(legs["conference_sid"], legs["caller"], **changes)
        except Gone:
            raise Conflict("the caller has left the call") from None

    def mute(self, sid: str, by: str | None, on: bool) -> dict:
        """The asking agent's microphone (a supervisor mutes the call's agent)."""
        if not isinstance(on, bool):
            raise Invalid("mute must be true or false")
        call, legs = self.connected(sid, by)
        agent = by or call.get("agent")
        leg = legs.get(f"agent:{agent}")
        if not leg:
            raise Conflict("your phone is not on this call yet")
        try:
            self.line.update(legs["conference_sid"], leg, muted=on)
        except Gone:
            raise Conflict("your phone has left the call") from None
        self.remember_leg(sid, **{f"muted:{agent}": "1" if on else "0"})
        self._tell(agent, {"event": "muted", "call_sid": sid, "mute": on})
        return {"call_sid": sid, "mute": on}

    # -- supervisors ------------------------------------------------------------------------
    def monitor(self, sid: str, username: str, mode, now: datetime) -> dict:
        """Listen (muted), whisper (coaching: heard by the agent only), barge (heard by both), or off;
        a supervisor already on the call switches mode without reconnecting."""
        if mode not in MONITOR_MODES:
            raise Invalid(f"mode must be one of {', '.join(MONITOR_MODES)}")
        identity = supervisor_identity(username)
        key = self.keys.monitors(sid)
        current = self.r.hget(key, username)
        current = json.loads(current) if current else None
        if mode == "off":
            if current:
                self.r.hdel(key, username)
                legs = self.legs(sid)
                if legs.get("conference_sid") and current.get("leg"):
                    self.line.remove(legs["conference_sid"], current["leg"])
                self._notice(sid, None, username)
            return {"identity": identity, "mode": "off"}
        call, legs = self.connected(sid, None)
        agent_leg = legs.get(f"agent:{call.get('agent')}")
        if not agent_leg:
            raise Conflict("the agent's phone is not on the call yet")
        how = {"listen": {"muted": True, "coaching": False}, "barge": {"muted": False, "coaching": False},
               "whisper": {"muted": False, "coaching": True, "call_sid_to_coach": agent_leg}}[mode]
        try:
            if current and current.get("leg"):
                self.line.update(legs["conference_sid"], current["leg"], **how)
                leg = current["leg"]
            else:
                leg, _ = self.line.add(
                    legs["conference_sid"], f"client:{identity}", call.get("to") or call.get("from") or "callrouter",
                    self.url_for(sid, f"/voice/monitor-leg?call={sid}&by={username}"),
                    self.url_for(sid, f"/voice/conference?call={sid}"), label=f"monitor-{username}",
                    muted=how["muted"], coach=how.get("call_sid_to_coach"))
        except Gone:
            raise Conflict("the call is over") from None
        self.r.hset(key, username, json.dumps({"mode": mode, "leg": leg, "agent": call.get("agent"),
                                               "since": round(now.timestamp(), 3)}))
        self.r.expire(key, LEGS_TTL_S)
        self._notice(sid, mode, username)
        return {"identity": identity, "mode": mode}

    def monitor_leg(self, sid: str, username: str, status: str | None) -> None:
        """The supervisor's leg ended (hung up, never answered, the call over): no longer monitoring."""
        if status in FAILED_LEG or status == "completed":
            if self.r.hdel(self.keys.monitors(sid), username):
                self._notice(sid, None, username)

    def monitoring(self, sid: str) -> dict[str, dict]:
        return {_text(u): json.loads(v) for u, v in self.r.hgetall(self.keys.monitors(sid)).items()}

    def _notice(self, sid: str, mode: str | None, username: str) -> None:
        """The agent sees who monitors them only where the config says so (`monitor_notice`)."""
        agent = _text(self.r.hget(self.keys.call(sid), "agent"))
        if self.cc.monitor_notice and agent:
            self._tell(agent, {"event": "monitored", "call_sid": sid, "mode": mode, "by": username})

    def _tell(self, agent: str, payload: dict) -> None:
        self.r.publish(self.keys.agent_channel(agent), json.dumps(payload))


def directory(agents: dict[str, dict], cc: ContactCenter, waiting: dict[str, int]) -> dict:
    """Who a call can go to: every agent with their live status and the queues they serve, every
    queue with its callers waiting and who is free for it now (GET /api/directory)."""
    reqs = {name: requirements(q) for name, q in cc.queues.items()}
    rows = []
    for agent_id, state in sorted(agents.items()):
        rows.append({"id": agent_id, "name": state.get("name") or agent_id, "status": state.get("status", "offline"),
                     "since": float(state["since"]) if state.get("since") else None,
                     "on_shift": state.get("on_shift") == "1",
                     "queues": [q for q, req in reqs.items() if qualifies(state, req)]})
    queues = []
    for name in reqs:
        free = [a["id"] for a in rows if a["status"] == "available" and a["on_shift"] and name in a["queues"]]
        queues.append({"name": name, "waiting": waiting.get(name, 0), "available": len(free), "free": free})
    return {"agents": rows, "queues": queues}
