"""Reading a call's screen pop out of Redis, and who may read it.

Everything the pop needs (call hash, journey, prefetched context) comes in one
pipelined round trip, so an offer event costs the same however slow the CRM is.
An agent may read the context of a call offered to them: their event stream
records the offer it delivered (`Keys.offered_agents`), and the ACD's own state
(the call's current offer and agent, the agents who rejected or missed it) covers
offers made while no stream was open.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Callable

import redis

from contactcenter.errors import NotAllowed, NotFound
from store.keys import Keys

from . import pop

OFFERED_TTL_S = 24 * 3600        # as long as an ended call stays in Redis


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _load(pipe_results) -> tuple[dict[str, str], list[dict], dict | None]:
    raw_call, raw_steps, raw_context = pipe_results[:3]
    call = {_text(k): _text(v) for k, v in (raw_call or {}).items()}
    steps = [json.loads(x) for x in raw_steps or []]
    try:
        context = json.loads(raw_context) if raw_context else None
    except ValueError:
        context = None
    return call, steps, context


def screen_pop(r: redis.Redis, keys: Keys, call_sid: str, now: datetime, offered_to: str | None = None) -> dict | None:
    """The pop of a call (None when Redis does not know it). `offered_to`: the agent whose
    stream is delivering the offer, remembered in the same round trip."""
    with r.pipeline(transaction=False) as pipe:
        pipe.hgetall(keys.call(call_sid))
        pipe.lrange(keys.journey(call_sid), 0, -1)
        pipe.get(keys.screenpop(call_sid))
        if offered_to:
            pipe.sadd(keys.offered_agents(call_sid), offered_to)
            pipe.expire(keys.offered_agents(call_sid), OFFERED_TTL_S)
        call, steps, context = _load(pipe.execute())
    if not call:
        return None
    return pop.build(call, steps, now, context)


def offered_agents(r: redis.Redis, keys: Keys, call_sid: str) -> set[str] | None:
    """Agents who were offered the call (None: Redis does not know the call)."""
    with r.pipeline(transaction=False) as pipe:
        pipe.exists(keys.call(call_sid))
        pipe.hmget(keys.call(call_sid), "offer", "agent")
        pipe.smembers(keys.offered_agents(call_sid))
        pipe.smembers(keys.tried(call_sid))      # rejected or missed it (acd/lua)
        known, (offer, agent), delivered, tried = pipe.execute()
    if not known:
        return None
    agents = {_text(a) for a in (*delivered, *tried)}
    if agent:
        agents.add(_text(agent))
    if offer:
        holder = r.hget(keys.offer(_text(offer)), "agent")
        if holder:
            agents.add(_text(holder))
    return agents


class ScreenPops:
    """The screen pop as people ask for it: by an agent's offer event, or through the API."""

    def __init__(self, r: redis.Redis, keys: Keys, clock: Callable[[], datetime],
                 fetch_now: Callable[[str], object] | None = None):
        self.r, self.keys, self.clock = r, keys, clock
        # a local CRM (the built-in one) answers in milliseconds: an offer that beat the prefetch job
        # looks the caller up itself rather than pop "still being looked up"
        self.fetch_now = fetch_now

    def for_viewer(self, call_sid: str, is_admin: bool, agent_id: str | None) -> dict:
        """The pop of a call for the admin, or for an agent the call was offered to."""
        offered = offered_agents(self.r, self.keys, call_sid)
        if offered is None:
            raise NotFound("no call with that CallSid")
        if not is_admin and agent_id not in offered:
            raise NotAllowed("this call was not offered to you")
        found = screen_pop(self.r, self.keys, call_sid, self.clock())
        if found is None:
            raise NotFound("no call with that CallSid")
        return found

    def with_offer(self, offer: dict, agent_id: str) -> dict:
        """The offer event (or a `screenpop` event, when the context came after the offer) with its
        screen pop: Redis only (the CRM was asked ahead by the prefetch job), one round trip that
        also lets this agent read the call's context later. With a local CRM, a pop whose context
        is not there yet is looked up now (a second round trip, only then)."""
        now = self.clock()
        sid = offer.get("call_sid", "")
        found = screen_pop(self.r, self.keys, sid, now, offered_to=agent_id)
        if found and found["notice"] == pop.NOT_READY and self.fetch_now is not None:
            self.fetch_now(sid)
            found = screen_pop(self.r, self.keys, sid, now) or found
        return {**offer, "screenpop": found or pop.build({}, [], now)}
