"""Agents' live state in Redis, mirrored from SQL: the profile routing needs
(skills, time zone's country, on shift) and reading their state. Status
changes go through `acd.routing.Router`, which routes in the same script.
"""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import redis

from contactcenter.shifts import country_of, on_shift
from store.agents import as_dict, list_agents
from store.keys import Keys

STATUSES = ("offline", "available", "break", "reserved", "busy", "wrapup")
SETTABLE = ("available", "break", "offline")
_LUA = Path(__file__).with_name("lua")


class AgentStates:
    def __init__(self, r: redis.Redis, keys: Keys):
        self.r = r
        self.keys = keys
        self._sync = r.register_script((_LUA / "sync_agent.lua").read_text())
        self._remove = r.register_script((_LUA / "remove_agent.lua").read_text())

    def sync(self, agent: dict, now: datetime) -> str:
        """Mirror one agent ({id, name, skills, timezone, schedule}); returns its status."""
        profile = {"name": agent["name"], "timezone": agent["timezone"], "country": country_of(agent["timezone"]),
                   "skills": agent.get("skills") or {},
                   "schedule": json.dumps(agent.get("schedule") or {}, sort_keys=True),
                   "auto_accept": "1" if agent.get("auto_accept") else "0"}
        shift = on_shift(agent.get("schedule"), agent["timezone"], now)
        status = self._sync(keys=[self.keys.agent(agent["id"]), self.keys.agents(), self.keys.idle()],
                            args=[agent["id"], now.timestamp(), "1" if shift else "0", self.keys.prefix,
                                  json.dumps(profile, separators=(",", ":"))])
        return status.decode()

    def mirror_from_sql(self, sessions, now: datetime) -> int:
        """Copy every SQL agent's routing profile and token hash into Redis (at start, after seeding)."""
        with sessions() as session:
            rows = list_agents(session)
            agents = [as_dict(a) for a in rows]
            hashes = {a.id: a.token_hash for a in rows if a.token_hash}
        for agent in agents:
            self.sync(agent, now)
        if hashes:
            self.r.hset(self.keys.token_hashes(), mapping=hashes)
        return len(agents)

    def remember_token(self, agent_id: str, token_hash: str) -> None:
        self.r.hset(self.keys.token_hashes(), agent_id, token_hash)

    def forget_token(self, agent_id: str) -> None:
        self.r.hdel(self.keys.token_hashes(), agent_id)

    def token_hash(self, agent_id: str) -> str | None:
        """The cached hash of the agent's token; None when Redis does not know it (ask SQL)."""
        known = self.r.hget(self.keys.token_hashes(), agent_id)
        return known.decode() if known else None

    def remove(self, agent_id: str) -> str:
        """'removed', or the status that forbids it (reserved, busy)."""
        result = self._remove(keys=[self.keys.agent(agent_id), self.keys.agents(), self.keys.idle()],
                              args=[agent_id, self.keys.prefix])
        return result.decode()

    def get(self, agent_id: str) -> dict | None:
        raw = self.r.hgetall(self.keys.agent(agent_id))
        return {k.decode(): v.decode() for k, v in raw.items()} if raw else None

    def all(self) -> dict[str, dict]:
        ids = sorted(x.decode() for x in self.r.smembers(self.keys.agents()))
        with self.r.pipeline(transaction=False) as pipe:
            for agent_id in ids:
                pipe.hgetall(self.keys.agent(agent_id))
            rows = pipe.execute()
        return {agent_id: {k.decode(): v.decode() for k, v in row.items()}
                for agent_id, row in zip(ids, rows, strict=True) if row}

    def shifts(self) -> dict[str, tuple[str, dict | None, bool]]:
        """agent id -> (time zone, weekly schedule, on shift as last recorded)."""
        ids = sorted(x.decode() for x in self.r.smembers(self.keys.agents()))
        with self.r.pipeline(transaction=False) as pipe:
            for agent_id in ids:
                pipe.hmget(self.keys.agent(agent_id), "timezone", "schedule", "on_shift")
            rows = pipe.execute()
        return {agent_id: (tz.decode(), json.loads(schedule or b"{}") or None, on == b"1")
                for agent_id, (tz, schedule, on) in zip(ids, rows, strict=True) if tz}


def qualifies(state: dict, req: dict[str, int]) -> bool:
    """Does an agent (as `AgentStates.all` gives them) hold every required skill at its level? A skill
    they lack never qualifies, whatever the level (as routing reads it, acd/lua/lib.lua `qualifies`)."""
    skills = json.loads(state.get("skills") or "{}")
    return all(skill in skills and int(skills[skill]) >= level for skill, level in req.items())


def holding(agents: dict[str, dict], req: dict[str, int]) -> dict[str, int]:
    """How many of `agents` (as `AgentStates.all` gives them) hold every required skill, by status."""
    counts: dict[str, int] = {}
    for state in agents.values():
        if qualifies(state, req):
            status = state.get("status", "offline")
            counts[status] = counts.get(status, 0) + 1
    return counts
