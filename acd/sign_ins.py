"""Who may open the consoles: an agent by their id and API token, the supervisor by the admin
token. The web pages keep the token in their session cookie and ask again on every request, so
issuing new credentials (or changing ADMIN_TOKEN) ends the sessions that held the old ones.

Only the decisions live here; the cookie, the CSRF tokens and the pages are HTTP (webhooks/).
"""
from __future__ import annotations

import hmac

from store.agents import agent_for_token
from store.models import Agent
from store.settings import Settings


class SignIns:
    def __init__(self, sessions, settings: Settings):
        self.sessions, self.settings = sessions, settings

    def agent(self, agent_id: object, token: object) -> Agent | None:
        """The agent whose id and token these are (detached from its SQL session), else None.
        Takes what a cookie holds, so anything but two strings is no one."""
        if not isinstance(token, str) or not isinstance(agent_id, str):
            return None
        with self.sessions() as db:
            agent = agent_for_token(db, token)
            if agent is None or agent.id != agent_id:
                return None
            db.expunge(agent)
            return agent

    def is_agent(self, agent_id: str, token: str) -> bool:
        """Whether the token is this agent's (a login form's question)."""
        with self.sessions() as db:
            agent = agent_for_token(db, token)
            return agent is not None and agent.id == agent_id

    def is_admin(self, token: object) -> bool:
        """Whether `token` is the admin token, compared in constant time; an empty one never is."""
        return (isinstance(token, str) and bool(token)
                and hmac.compare_digest(token.encode(), self.settings.admin_token.encode()))

    def is_admin_session(self, role: object, token: object) -> bool:
        """Whether a session that says it is the supervisor's still is: a login as admin, with the
        token that is the admin token now (changing ADMIN_TOKEN ends every such session)."""
        return role == "admin" and self.is_admin(token)
