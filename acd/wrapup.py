"""An agent ends their wrap-up: the call's disposition and notes are kept, the agent is free for the
next caller, and the call record is written again with them (CONTRACT.md, "JSON API").

Once per call and agent: a second wrap-up is refused (409) and never overwrites what the first kept.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Callable

import redis

from contactcenter.errors import Conflict, Invalid, NotAllowed, NotFound
from store.callstate import RECORD_GRACE_S, CallState
from store.keys import Keys

MAX_DISPOSITION = 64
MAX_NOTES = 4000


class WrapUps:
    def __init__(self, r: redis.Redis, keys: Keys, calls: CallState, acd,
                 record_call: Callable[[str, dict | None], None]):
        self.r, self.keys, self.calls, self.acd = r, keys, calls, acd
        self.record_call = record_call     # (call sid, extra columns) -> write the call record later

    def wrap_up(self, call_sid: str, may_act_for: Callable[[str], bool], disposition, notes, now: datetime) -> dict:
        """{call_sid, agent, status}: the agent's status after the wrap-up (available, or what it was)."""
        if disposition is not None and (not isinstance(disposition, str) or len(disposition) > MAX_DISPOSITION):
            raise Invalid(f"disposition must be text of at most {MAX_DISPOSITION} characters")
        if notes is not None and (not isinstance(notes, str) or len(notes) > MAX_NOTES):
            raise Invalid(f"notes must be text of at most {MAX_NOTES} characters")
        key = self.keys.call(call_sid)
        agent = self._agent(call_sid, may_act_for)
        # The marker lives in the call's hash (and dies with it): HSETNX makes the check and the claim one
        # step, so of two wrap-ups racing only one keeps its notes.
        marker = f"wrapped:{agent}"
        if not self.r.hsetnx(key, marker, round(now.timestamp(), 3)):
            raise Conflict("this call is wrapped up already")
        fields = {}
        if disposition is not None:
            fields["disposition"] = disposition
        if notes is not None:
            fields["notes"] = notes
        try:
            self.calls.apply(call_sid, [{"event": "wrapup", "agent": agent}], fields, now.timestamp())
            # each agent's wrap-up on the call's parts: after a transfer both agents' notes are kept
            self.r.rpush(self.keys.segments(call_sid), json.dumps(
                {"kind": "wrapup", "agent": agent, "disposition": disposition, "notes": notes,
                 "at": round(now.timestamp(), 3)}, ensure_ascii=False))
        except Exception:
            self.r.hdel(key, marker)          # nothing was kept: the agent may try again
            raise
        # back in the records outbox: should the record job below fail, the sweeper writes the notes
        self.r.zadd(self.keys.records_pending(), {call_sid: now.timestamp() + RECORD_GRACE_S})
        status = self.acd.end_wrapup(agent, call_sid, now)
        self.record_call(call_sid, {"agent_id": agent, **fields})
        current = self.r.hget(self.keys.agent(agent), "status")
        return {"call_sid": call_sid, "agent": agent, "status": status or (current.decode() if current else None)}

    def write_notes(self, call_sid: str, may_act_for: Callable[[str], bool], notes, now: datetime) -> dict:
        """Notes an agent takes during the call (and wrap-up): kept with the call at once, so they reach
        the record even when the wrap-up ends by its timer; the wrap-up form starts from them."""
        if not isinstance(notes, str) or len(notes) > MAX_NOTES:
            raise Invalid(f"notes must be text of at most {MAX_NOTES} characters")
        agent = self._agent(call_sid, may_act_for)
        status, call = self.r.hmget(self.keys.agent(agent), "status", "call")
        if status not in (b"busy", b"wrapup") or call != call_sid.encode():
            raise Conflict("your part of this call and its wrap-up are over: its notes are kept")
        if self.calls.apply(call_sid, [], {"notes": notes, f"notes:{agent}": notes}, now.timestamp(),
                            must_exist=True) < 0:
            raise NotFound("no agent call with that CallSid")
        return {"call_sid": call_sid, "agent": agent, "notes": notes}

    def notes_of(self, call_sid: str, may_act_for: Callable[[str], bool]) -> dict:
        """The notes the asking agent took on the call so far ("" before any)."""
        agent = self._agent(call_sid, may_act_for)
        kept = self.r.hget(self.keys.call(call_sid), f"notes:{agent}")
        return {"call_sid": call_sid, "agent": agent, "notes": kept.decode() if kept else ""}

    def _agent(self, call_sid: str, may_act_for: Callable[[str], bool]) -> str:
        """The agent whose wrap-up this is: of the agents who served the call (its agent, and those
        before a transfer), one the asker may act for, wrapping this call up now if any is."""
        current = self.r.hget(self.keys.call(call_sid), "agent")
        served = [current.decode()] if current else []
        for raw in self.r.lrange(self.keys.segments(call_sid), 0, -1):
            part = json.loads(raw)
            for who in (part.get("agent"), part.get("by")):
                if isinstance(who, str) and who and who not in served:
                    served.append(who)
        if not served:
            raise NotFound("no agent call with that CallSid")
        mine = [a for a in served if may_act_for(a)]
        if not mine:
            raise NotAllowed("this call belongs to another agent")
        for agent in mine:
            status, call = self.r.hmget(self.keys.agent(agent), "status", "call")
            if status == b"wrapup" and call == call_sid.encode():
                return agent
        return mine[0]
