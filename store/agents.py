"""Agents in SQL (the source of truth for who they are) and their API tokens.

A token is "<agent id>.<secret>"; only its SHA-256 is stored, so a database
leak gives no usable token, and the id prefix finds the row without a scan.
"""
from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Agent

PROFILE_FIELDS = ("name", "skills", "timezone", "schedule", "languages", "auto_accept")


def token_hash(token: str) -> str:
    """What is stored of a token (SQL, and Redis's cache of it): its SHA-256."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(agent: Agent) -> str:
    token = f"{agent.id}.{secrets.token_urlsafe(24)}"
    agent.token_hash = token_hash(token)
    return token


def as_dict(agent: Agent) -> dict:
    return {"id": agent.id, "name": agent.name, "skills": dict(agent.skills or {}), "timezone": agent.timezone,
            "schedule": agent.schedule, "languages": list(agent.languages or []),
            "auto_accept": bool(agent.auto_accept)}


def list_agents(session: Session) -> list[Agent]:
    return list(session.scalars(select(Agent).order_by(Agent.id)))


def agent_names(session: Session, ids: set[str]) -> dict[str, str]:
    """The names of the agents `ids` (those that exist)."""
    if not ids:
        return {}
    return dict(session.execute(select(Agent.id, Agent.name).where(Agent.id.in_(sorted(ids)))).all())


def create_agent(session: Session, data: dict) -> tuple[Agent, str]:
    agent = Agent(id=data["id"], name=data["name"], skills=data.get("skills") or {}, timezone=data["timezone"],
                  schedule=data.get("schedule"), languages=list(data.get("languages") or []),
                  auto_accept=bool(data.get("auto_accept", False)))
    token = issue_token(agent)
    session.add(agent)
    return agent, token


def update_agent(agent: Agent, data: dict) -> None:
    for name in PROFILE_FIELDS:
        if name in data:
            value = data[name]
            setattr(agent, name, list(value or []) if name == "languages" else bool(value) if name == "auto_accept"
                    else value)
