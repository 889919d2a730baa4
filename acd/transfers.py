"""Transfers and three-way calls: the agent hands the caller to an agent, a queue or a number, cold
(at once) or warm (after talking to the target while the caller holds), or adds a party.

The ACD decides in one script each (acd/lua/transfer_*.lua, offer_party.lua) and Twilio follows:
a cold transfer to a queue sends the caller's call to wait in that queue (`/voice/transferred`), at
the place they first queued with; a warm transfer offers the target agent the call like any offer
and, once accepted, rings them into the call's conference. The next agent's screen pop carries the
journey so far with "Transferred by <agent>: <notes>", so the caller never repeats themselves.
"""
from __future__ import annotations

import json
import logging
import secrets
from datetime import datetime

from contactcenter.checker import e164_problem
from contactcenter.errors import Conflict, Invalid, NotAllowed, NotFound, Unavailable

from .conference import Gone
from .controls import CallControls
from .queueing import PRIORITY_CREDIT_S, enqueue_fields, requirements

log = logging.getLogger(__name__)
MAX_NOTES = 2000
REFUSED = {
    "not_connected": "the call is not connected to an agent",
    "not_yours": "only the call's agent transfers it",
    "transfer_under_way": "a transfer of this call is under way: complete or cancel it first",
    "nobody": "nobody who could take the call is logged in to that queue",
    "busy": "that agent is not available now; a cold transfer waits for them",
    "on_call": "that agent is on this call already",
    "unknown": "no such transfer",
    "over": "this transfer is over",
    "not_consulting": "the target has not joined the call yet",
}


def _refused(why: str) -> Conflict:
    return Conflict(REFUSED.get(why, why))


class Transfers:
    def __init__(self, controls: CallControls, calls_journey):
        self.c = controls
        self.journey = calls_journey       # (call sid, step dict) -> appended to the caller's journey

    # -- starting one -------------------------------------------------------------------------
    def transfer(self, sid: str, by: str | None, to, mode, notes, now: datetime, by_name: str | None = None) -> dict:
        kind, target = self._target(to)
        if mode not in ("cold", "warm"):
            raise Invalid("mode must be cold or warm")
        if notes is not None and (not isinstance(notes, str) or len(notes) > MAX_NOTES):
            raise Invalid(f"notes must be text of at most {MAX_NOTES} characters")
        notes = (notes or "").strip()
        call, legs = self.c.connected(sid, by)
        if by is not None and by != call.get("agent"):
            raise NotAllowed("only the call's agent transfers it")
        agent = call.get("agent", "")
        name = by_name or self._name(agent) or agent
        xid = "XF" + secrets.token_hex(16)
        info = {"by": agent, "by_name": name, "mode": mode, "kind": kind, "target": target, "notes": notes}
        self.journey(sid, {"event": "transferred", "by": name, "notes": notes, "mode": mode, "to": target})
        if kind == "number":
            return self._to_number(sid, by or "", xid, call, legs, info, now)
        if mode == "warm":
            return self._consult(sid, xid, call, legs, info, now)
        queue = self._queue_for(kind, target, call)
        fields, timers = enqueue_fields(queue, None, call.get("from", ""), now, call_sid=sid,
                                        region=call.get("region"))
        fields.pop("score")
        if kind == "agent" and queue.transfer_wait_s:
            fields.update(pref_agent=target, pref_until=round(now.timestamp() + queue.transfer_wait_s, 3))
            timers.append((f"preferred:{sid}", now.timestamp() + queue.transfer_wait_s))
        why, offers = self.c.router.transfer_out(sid, by or "", xid, fields, timers,
                                                 queue.transfer_priority * PRIORITY_CREDIT_S * 1000, info, now)
        if why:
            raise _refused(why)
        node = call.get("node", "")
        self._redirect(sid, legs, f"/voice/transferred?node={node}&queue={queue.name}")
        self.c.after(offers, now)
        return {"transfer_id": xid, "state": "completed"}

    def _consult(self, sid: str, xid: str, call: dict, legs: dict, info: dict, now: datetime) -> dict:
        """Warm: the target agent (or a free agent of the queue) is offered the call; the caller holds."""
        queue = self.c.cc.queues.get(call.get("queue", ""))
        req, wanted = {}, info["target"]
        if info["kind"] == "queue":
            queue = self.c.cc.queues[info["target"]]
            req, wanted = requirements(queue), ""
        elif not self.c.r.exists(self.c.keys.agent(wanted)):
            raise NotFound(f"no agent {wanted!r}")
        timeout = queue.offer_timeout_s if queue else 15
        rid, target = self.c.router.offer_party(sid, wanted, req, "consult", xid, info, timeout, now)
        if rid is None:
            if target == "nobody":
                raise Conflict(f"nobody in {info['target']} is free now; a cold transfer waits in line")
            raise _refused(target)
        self._hold_for_transfer(sid, legs, call, now)
        return {"transfer_id": xid, "state": "ringing", "agent": target}

    def _to_number(self, sid: str, by: str, xid: str, call: dict, legs: dict, info: dict, now: datetime) -> dict:
        if info["mode"] == "cold":
            why, offers = self.c.router.transfer_away(sid, by, xid, "cold", info, now)
            if why:
                raise _refused(why)
            self._redirect(sid, legs, f"/voice/transfer-out?number={info['target']}")
            self.c.after(offers, now)
            return {"transfer_id": xid, "state": "completed"}
        why, _ = self.c.router.transfer_away(sid, by, xid, "begin", info, now)
        if why:
            raise _refused(why)
        self._hold_for_transfer(sid, legs, call, now)
        try:
            leg, _ = self.c.line.add(legs["conference_sid"], info["target"], call.get("to") or info["target"],
                                     self.c.url_for(sid, f"/voice/number-leg?call={sid}&xfer={xid}"),
                                     self.c.url_for(sid, f"/voice/conference?call={sid}"), label="transfer-number")
        except (Gone, Unavailable):
            self.cancel(xid, None, now)
            raise
        self.c.remember_leg(sid, **{f"number:{info['target']}": leg, f"xfer:{xid}": leg})
        return {"transfer_id": xid, "state": "ringing"}

    def _hold_for_transfer(self, sid: str, legs: dict, call: dict, now: datetime) -> None:
        """The caller holds during the consult; the first agent may now leave without ending the call."""
        try:
            self.c.set_caller_hold(sid, legs, True, call.get("queue", ""))
            self.c.router.hold(sid, True, now)
            primary_leg = legs.get(f"agent:{call.get('agent')}")
            if primary_leg:
                self.c.line.update(legs["conference_sid"], primary_leg, end_conference_on_exit=False)
        except (Conflict, Gone, Unavailable) as exc:
            log.warning("transfer of %s: could not hold the caller: %s", sid, exc)

    # -- a consulted agent answers -------------------------------------------------------------
    def ring_party(self, sid: str, agent: str, rid: str, now: datetime) -> None:
        """An accepted offer to join a call: the agent's softphone is dialed into its conference."""
        legs = self.c.legs(sid)
        call = self.c.call(sid)
        try:
            leg, _ = self.c.line.add(
                legs["conference_sid"], f"client:{agent}", call.get("from") or call.get("to") or "callrouter",
                self.c.url_for(sid, f"/voice/agent-leg?call={sid}&agent={agent}&rid={rid}"),
                self.c.url_for(sid, f"/voice/conference?call={sid}"), label=f"agent-{agent}")
        except (KeyError, Gone, Unavailable) as exc:
            log.info("could not ring %s into %s: %s", agent, sid, exc)
            self.c.after(self.c.router.party_leg(sid, agent, "failed", now)[1], now)
            raise Conflict("the call is over") from None
        self.c.remember_leg(sid, **{f"agent:{agent}": leg})

    # -- completing and canceling --------------------------------------------------------------
    def complete(self, xid: str, by: str | None, now: datetime) -> dict:
        t = self.load(xid)
        sid = t["call"]
        legs = self.c.legs(sid)
        if t.get("kind") == "number":
            why, offers = self.c.router.transfer_away(sid, by or "", xid, "complete", t, now)
            if why:
                raise _refused(why)
            old, new_leg = t.get("by"), legs.get(f"xfer:{xid}")
        else:
            why, moved = self.c.router.transfer_complete(xid, by or "", now)
            if why:
                raise _refused(why)
            _, old, new = moved
            offers, new_leg = [], legs.get(f"agent:{new}")
        conference = legs.get("conference_sid", "")
        try:
            if new_leg:
                self.c.line.update(conference, new_leg, end_conference_on_exit=True)
            self.c.line.update(conference, legs["caller"], hold=False)
            if old and legs.get(f"agent:{old}"):
                self.c.line.remove(conference, legs[f"agent:{old}"])
        except (Gone, Unavailable, KeyError) as exc:
            log.warning("transfer %s completed; Twilio did not follow every step: %s", xid, exc)
        self.c.after(offers, now)
        return {"transfer": {"id": xid, "state": "completed", "mode": t.get("mode"), "by": t.get("by"),
                             "agent": t.get("agent") or None, "to": {t.get("kind", "agent"): t.get("target")}}}

    def cancel(self, xid: str, by: str | None, now: datetime) -> dict:
        sid = self._call_of(xid)
        why, moved, offers = self.c.router.transfer_cancel(xid, by or "", now)
        if why:
            raise _refused(why)
        target = moved[1]
        legs, call = self.c.legs(sid), self.c.call(sid)
        conference = legs.get("conference_sid", "")
        target_leg = legs.get(f"agent:{target}") if target else legs.get(f"xfer:{xid}")
        try:
            if target_leg:
                self.c.line.remove(conference, target_leg)
            if call.get("acd") == "connected":
                self.c.line.update(conference, legs["caller"], hold=False)
                self.c.router.hold(sid, False, now)
                if legs.get(f"agent:{call.get('agent')}"):
                    self.c.line.update(conference, legs[f"agent:{call['agent']}"], end_conference_on_exit=True)
        except (Gone, Unavailable, KeyError) as exc:
            log.warning("transfer %s canceled; Twilio did not follow every step: %s", xid, exc)
        self.c.after(offers, now)
        return {"transfer": {"id": xid, "state": "canceled"}}

    # -- three-way calls --------------------------------------------------------------------------
    def add_party(self, sid: str, by: str | None, add, now: datetime) -> dict:
        kind, target = self._target(add, allowed=("agent", "number"))
        call, legs = self.c.connected(sid, by)
        if kind == "agent":
            if not self.c.r.exists(self.c.keys.agent(target)):
                raise NotFound(f"no agent {target!r}")
            queue = self.c.cc.queues.get(call.get("queue", ""))
            rid, agent = self.c.router.offer_party(sid, target, {}, "party", "", None,
                                                   queue.offer_timeout_s if queue else 15, now)
            if rid is None:
                raise _refused(agent)
            return {"party_id": target, "state": "offered"}
        try:
            leg, _ = self.c.line.add(legs["conference_sid"], target, call.get("to") or target,
                                     self.c.url_for(sid, f"/voice/number-leg?call={sid}"),
                                     self.c.url_for(sid, f"/voice/conference?call={sid}"), label="party-number")
        except Gone:
            raise Conflict("the call is over") from None
        pid = f"number:{target}"
        self.c.r.hset(self.c.keys.parties(sid), pid, json.dumps({"kind": "number", "who": target, "role": "party",
                                                                 "state": "ringing"}))
        self.c.remember_leg(sid, **{pid: leg})
        return {"party_id": pid, "state": "ringing"}

    def remove_party(self, sid: str, by: str | None, party) -> dict:
        if not isinstance(party, str) or not party:
            raise Invalid("remove must name a party id")
        self.c.connected(sid, by)
        legs = self.c.legs(sid)
        leg = legs.get(party if party.startswith("number:") else f"agent:{party}")
        if not leg:
            raise NotFound("no such party on this call")
        self.c.line.remove(legs["conference_sid"], leg)
        return {"party_id": party, "state": "leaving"}

    def leave(self, sid: str, agent: str) -> dict:
        """The asking agent leaves the call (their leg is taken out of the conference)."""
        legs = self.c.legs(sid)
        leg = legs.get(f"agent:{agent}")
        if not leg or not legs.get("conference_sid"):
            raise Conflict("your phone is not on this call")
        self.c.line.remove(legs["conference_sid"], leg)
        return {"call_sid": sid, "state": "leaving"}

    def number_leg(self, sid: str, xid: str | None, number: str | None, status: str | None, now: datetime) -> None:
        """A number's leg answered or ended: a warm transfer consults, or fails; a party comes and goes."""
        if xid:
            t = self.load(xid) if self.c.r.exists(self.c.keys.transfer(xid)) else {}
            if status == "in-progress":
                self.c.router.transfer_away(sid, "", xid, "joined", t, now)
            elif (status == "completed" or status in ("busy", "no-answer", "failed", "canceled")) \
                    and t.get("state") in ("ringing", "consulting"):
                self.cancel(xid, None, now)
            return
        pid = f"number:{number}" if number else None
        raw = self.c.r.hget(self.c.keys.parties(sid), pid) if pid else None
        if raw and status == "in-progress":
            self.c.r.hset(self.c.keys.parties(sid), pid, json.dumps({**json.loads(raw), "state": "joined"}))
        elif raw and status in ("completed", "busy", "no-answer", "failed", "canceled"):
            self.c.r.hdel(self.c.keys.parties(sid), pid)

    # -- helpers ------------------------------------------------------------------------------------
    def _target(self, to, allowed=("agent", "queue", "number")) -> tuple[str, str]:
        if not isinstance(to, dict) or len(to) != 1:
            raise Invalid(f"give exactly one of {', '.join(allowed)}")
        kind, target = next(iter(to.items()))
        if kind not in allowed or not isinstance(target, str) or not target or len(target) > 64:
            raise Invalid(f"give exactly one of {', '.join(allowed)}, as text")
        if kind == "queue" and target not in self.c.cc.queues:
            raise NotFound(f"no queue {target!r}")
        if kind == "number" and (problem := e164_problem(target)):
            raise Invalid(problem)
        return kind, target

    def _queue_for(self, kind: str, target: str, call: dict):
        """The queue a cold transfer waits in: the one named, or for a named agent the call's own queue
        when they serve it, else the first queue whose skills they hold."""
        if kind == "queue":
            return self.c.cc.queues[target]
        if not self.c.r.exists(self.c.keys.agent(target)):
            raise NotFound(f"no agent {target!r}")
        held = {}
        for skill in {s for q in self.c.cc.queues.values() for s in requirements(q)}:
            level = self.c.r.zscore(self.c.keys.skill(skill), target)
            if level is not None:
                held[skill] = level
        def serves(q) -> bool:
            return all(held.get(s, -1) >= lvl for s, lvl in requirements(q).items())
        current = self.c.cc.queues.get(call.get("queue", ""))
        if current and serves(current):
            return current
        for q in self.c.cc.queues.values():
            if serves(q):
                return q
        raise Conflict(f"{target} serves none of the queues")

    def _redirect(self, sid: str, legs: dict, path: str) -> None:
        try:
            self.c.line.redirect(legs["caller"], self.c.url_for(sid, path))
        except Gone:
            log.info("transfer of %s: the caller hung up meanwhile", sid)
        except Unavailable as exc:
            log.warning("transfer of %s: could not move the caller: %s", sid, exc)

    def load(self, xid: str) -> dict:
        raw = self.c.r.hgetall(self.c.keys.transfer(xid))
        if not raw:
            raise NotFound("no such transfer")
        return {k.decode(): v.decode() for k, v in raw.items()}

    def _call_of(self, xid: str) -> str:
        return self.load(xid)["call"]

    def _name(self, agent: str) -> str | None:
        name = self.c.r.hget(self.c.keys.agent(agent), "name")
        return name.decode() if name else None
