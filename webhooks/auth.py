"""Who is calling the JSON API: the admin (ADMIN_TOKEN) or one agent (its token).

`Authorization: Bearer <token>`; the web console's session cookie comes with it.
"""
from __future__ import annotations

import hmac
from dataclasses import dataclass

from flask import abort, current_app, request, session

from store.agents import agent_for_token


@dataclass(frozen=True)
class Principal:
    kind: str                 # "admin" or "agent"
    agent_id: str | None = None

    def may_act_for(self, agent_id: str) -> bool:
        return self.kind == "admin" or self.agent_id == agent_id


def _token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[7:].strip() or None
    return session.get("token")


def principal() -> Principal:
    token = _token()
    if not token:
        abort(401, "missing bearer token")
    rt = current_app.extensions["callrouter"]
    if hmac.compare_digest(token.encode(), rt.settings.admin_token.encode()):
        return Principal("admin")
    with rt.sessions() as db:
        agent = agent_for_token(db, token)
    if agent is None:
        abort(401, "invalid token")
    return Principal("agent", agent.id)


def require_admin() -> Principal:
    who = principal()
    if who.kind != "admin":
        abort(403, "admin only")
    return who


def require_agent_or_admin(agent_id: str) -> Principal:
    who = principal()
    if not who.may_act_for(agent_id):
        abort(403, "an agent token acts only for its own agent")
    return who
