"""The agents of the contact center as the admin and the agents see them: profiles owned by SQL,
mirrored into Redis for routing on every change, with their live status.

Used by the JSON API (CONTRACT.md, "Agents"); refusals are contactcenter.errors.
"""
from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from typing import Callable
from zoneinfo import available_timezones

from sqlalchemy.exc import IntegrityError
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VoiceGrant

from contactcenter.checker import Checker
from contactcenter.config import check_agent
from contactcenter.errors import Conflict, Invalid, NotFound
from contactcenter.model import ContactCenter
from contactcenter.shifts import on_shift
from store import agents as agent_store
from store.models import Agent
from store.settings import Settings

from .agents import AgentStates

SOFTPHONE_TOKEN_TTL_S = 3600
MAX_NAME = 100           # what a screen or a report shows of a name; longer is a mistake or an attack


class Roster:
    def __init__(self, cc: ContactCenter, sessions, agents: AgentStates, settings: Settings,
                 clock: Callable[[], datetime]):
        self.cc, self.sessions, self.agents, self.settings, self.clock = cc, sessions, agents, settings, clock

    def list(self) -> list[dict]:
        live = self.agents.all()
        with self.sessions() as db:
            return [self._payload(a, live.get(a.id)) for a in agent_store.list_agents(db)]

    def get(self, agent_id: str) -> dict:
        with self.sessions() as db:
            return self._payload(_load(db, agent_id), self.agents.get(agent_id))

    def create(self, body: dict) -> tuple[dict, str]:
        """The new agent and their API token (shown once)."""
        _refuse_what_the_config_allows_but_the_api_does_not(body)
        data = self._validated(body)
        with self.sessions() as db:
            if db.get(Agent, data["id"]) is not None:
                raise Conflict(f"agent {data['id']!r} exists")
            agent, token = agent_store.create_agent(db, data)
            try:
                db.commit()
            except IntegrityError:
                raise Conflict(f"agent {data['id']!r} exists") from None
            self.agents.sync(agent_store.as_dict(agent), self.clock())
            self.agents.remember_token(agent.id, agent.token_hash)
            return self._payload(agent, self.agents.get(agent.id)), token

    def update(self, agent_id: str, body: dict) -> dict:
        """Change the fields `body` names; the whole profile is checked as it would become."""
        if "id" in body and body["id"] != agent_id:
            raise Invalid("agent.id: cannot be changed")
        _refuse_what_the_config_allows_but_the_api_does_not(body)
        with self.sessions() as db:
            agent = _load(db, agent_id)
            data = self._validated({**agent_store.as_dict(agent), **body})
            agent_store.update_agent(agent, {k: data[k] for k in body if k != "id"})
            db.commit()
            self.agents.sync(agent_store.as_dict(agent), self.clock())
            return self._payload(agent, self.agents.get(agent_id))

    def delete(self, agent_id: str) -> None:
        """Gone from routing and SQL; refused while the agent holds an offer or a call."""
        with self.sessions() as db:
            agent = _load(db, agent_id)
            result = self.agents.remove(agent_id)
            if result != "removed":
                raise Conflict(f"agent {agent_id!r} is {result}; try again when the call is over")
            db.delete(agent)
            db.commit()
        self.agents.forget_token(agent_id)

    def new_token(self, agent_id: str) -> str:
        """A new API token for the agent; the old one stops working."""
        with self.sessions() as db:
            agent = _load(db, agent_id)
            token = agent_store.issue_token(agent)
            db.commit()
            self.agents.remember_token(agent_id, agent.token_hash)
        return token

    def softphone_token(self, agent_id: str) -> str:
        """A Twilio access token for the browser softphone; its identity is what <Client> dials."""
        with self.sessions() as db:
            _load(db, agent_id)
        return self.identity_token(agent_id)

    def identity_token(self, identity: str) -> str:
        """A softphone's access token for any `<Client>` identity (a supervisor's, to monitor calls)."""
        s = self.settings
        token = AccessToken(s.twilio_account_sid, s.twilio_api_key, s.twilio_api_secret, identity=identity,
                            ttl=SOFTPHONE_TOKEN_TTL_S)
        token.add_grant(VoiceGrant(outgoing_application_sid=s.twilio_twiml_app_sid, incoming_allow=True))
        return token.to_jwt()

    def _validated(self, body: dict) -> dict:
        checker = Checker()
        agent = check_agent(checker, body, "agent", self.cc.timezone, partial=False)
        if checker.problems:
            raise Invalid("; ".join(f"{path}: {reason}" for path, reason in checker.problems))
        return agent

    def _payload(self, agent: Agent, live: dict | None) -> dict:
        live = live or {}
        since = float(live["since"]) if live.get("since") else None
        return {**agent_store.as_dict(agent), "status": live.get("status", "offline"),
                "since": datetime.fromtimestamp(since, timezone.utc).isoformat() if since else None,
                "on_shift": on_shift(agent.schedule, agent.timezone, self.clock())}


def _refuse_what_the_config_allows_but_the_api_does_not(body: dict) -> None:
    """The config's checker (contactcenter.config.check_agent) reads `skills:` left empty as no skills
    and has no bound on a name's length; through the API `"skills": null` would silently remove every
    skill, so it is refused, as are names over MAX_NAME characters and time zones that are no IANA
    zone (a directory such as "America" or a name too long for a file makes ZoneInfo raise OSError)."""
    if "skills" in body and body["skills"] is None:
        raise Invalid("agent.skills: must be a mapping of skill to level 1..10 ({} for none), not null")
    name = body.get("name")
    if isinstance(name, str) and len(name) > MAX_NAME:
        raise Invalid(f"agent.name: at most {MAX_NAME} characters")
    zone = body.get("timezone")
    if zone is not None and (not isinstance(zone, str) or zone not in _iana_zones()):
        raise Invalid(f"agent.timezone: unknown time zone {str(zone)[:64]!r} (use an IANA name such as Europe/Madrid)")


@lru_cache(maxsize=1)
def _iana_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _load(db, agent_id: str) -> Agent:
    agent = db.get(Agent, agent_id)
    if agent is None:
        raise NotFound(f"unknown agent {agent_id!r}")
    return agent
