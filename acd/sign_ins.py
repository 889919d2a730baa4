"""Programs' agent tokens (`Authorization: Bearer <agent id>.<secret>`), answered from Redis's copy
of the token's hash so agents keep working with SQL away, and the agent profile a signed-in person
stands for. People's accounts and sessions are people/; the HTTP side is webhooks/auth.py.
"""
from __future__ import annotations

import hmac

from sqlalchemy.exc import SQLAlchemyError

from contactcenter.errors import Away
from store.agents import token_hash
from store.models import Agent
from store.settings import Settings

from .agents import AgentStates


class SignIns:
    def __init__(self, sessions, settings: Settings, agents: AgentStates):
        self.sessions, self.settings, self.agents = sessions, settings, agents

    def agent_id_for_token(self, token: str) -> str | None:
        """The agent whose API token this is, else None. Answered from Redis's copy of the token's
        hash, so an agent's requests (accept, status, wrap-up, the event stream) keep working with
        SQL away; SQL is asked (and the copy made) only for an agent Redis does not know yet."""
        agent_id, dot, _ = token.partition(".")
        if not dot or not agent_id:
            return None
        known = self.agents.token_hash(agent_id)
        if known is None:
            try:
                with self.sessions() as db:
                    agent = db.get(Agent, agent_id)
                    known = agent.token_hash if agent is not None else None
            except SQLAlchemyError:
                raise Away("the database is away and this token is not known yet; try again shortly") from None
            if not known:
                return None
            self.agents.remember_token(agent_id, known)
        return agent_id if hmac.compare_digest(known, token_hash(token)) else None

    def profile(self, agent_id: object) -> Agent | None:
        """The agent a signed-in person stands for: a transient Agent with the id, name and time zone
        the console shows, read from Redis's mirror of the agents (SQL away, the console still opens
        and reloads), from SQL only for an agent not mirrored yet; None when there is no such agent."""
        if not isinstance(agent_id, str) or not agent_id:
            return None
        profile = self.agents.get(agent_id) or {}
        if profile.get("name"):
            return Agent(id=agent_id, name=profile["name"], timezone=profile.get("timezone") or None)
        with self.sessions() as db:
            agent = db.get(Agent, agent_id)
            if agent is not None:
                db.expunge(agent)
            return agent
