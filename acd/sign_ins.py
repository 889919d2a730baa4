"""Who may open the consoles: an agent by their id and API token, the supervisor by the admin
token. The web pages keep the token in their session cookie and ask again on every request, so
issuing new credentials (or changing ADMIN_TOKEN) ends the sessions that held the old ones.

Only the decisions live here; the cookie, the CSRF tokens and the pages are HTTP (webhooks/).
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

    def agent(self, agent_id: object, token: object) -> Agent | None:
        """The agent whose id and token these are, else None: a transient Agent with the id, name and
        time zone the console shows, read from Redis's mirror of the agents (SQL away, the console still
        opens and reloads), from SQL only for an agent not mirrored yet. Takes what a cookie holds, so
        anything but two strings is no one."""
        if not isinstance(token, str) or not isinstance(agent_id, str) or not agent_id:
            return None
        if self.agent_id_for_token(token) != agent_id:
            return None
        profile = self.agents.get(agent_id) or {}
        if profile.get("name"):
            return Agent(id=agent_id, name=profile["name"], timezone=profile.get("timezone") or None)
        with self.sessions() as db:
            agent = db.get(Agent, agent_id)
            if agent is not None:
                db.expunge(agent)
            return agent

    def is_agent(self, agent_id: str, token: str) -> bool:
        """Whether the token is this agent's (a login form's question): Redis's copy of its hash."""
        return bool(agent_id) and self.agent_id_for_token(token) == agent_id

    def is_admin(self, token: object) -> bool:
        """Whether `token` is the admin token, compared in constant time; an empty one never is."""
        return (isinstance(token, str) and bool(token)
                and hmac.compare_digest(token.encode(), self.settings.admin_token.encode()))

    def is_admin_session(self, role: object, token: object) -> bool:
        """Whether a session that says it is the supervisor's still is: a login as admin, with the
        token that is the admin token now (changing ADMIN_TOKEN ends every such session)."""
        return role == "admin" and self.is_admin(token)
