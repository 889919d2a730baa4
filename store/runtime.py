"""The clients one process of the service needs, built once from Settings.

The Flask app factory builds a Runtime and attaches it; an RQ worker process
builds its own from the same environment the first time a job asks
(`current()`), so web and worker always agree on Redis, SQL and the config.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import redis
from rq import Queue
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from acd.agents import AgentStates
from acd.routing import Router
from acd.scripts import Scripts
from acd.service import AcdService, twilio_client
from ivr.callstate import CallState
from ivr.config import load_config
from ivr.model import ContactCenter
from screenpop.crm import GreetingLookup

from . import redis_conn
from .db import make_engine, make_session_factory
from .keys import Keys
from .settings import Settings, from_env

log = logging.getLogger(__name__)
RQ_QUEUE = "callrouter"   # the Procfile's worker listens here


@dataclass
class Runtime:
    settings: Settings
    cc: ContactCenter
    redis: redis.Redis
    engine: Engine
    sessions: sessionmaker
    jobs: Queue
    keys: Keys
    calls: CallState
    agents: AgentStates
    router: Router
    acd: AcdService
    greeting_lookup: GreetingLookup

    def lookup_contact(self, e164: str) -> dict | None:
        """CRM fields of the caller for greetings; a CRM failure never stops a call."""
        try:
            return self.greeting_lookup(e164)
        except Exception:   # noqa: BLE001 - the caller is greeted without a name instead
            log.exception("CRM lookup failed for %s", e164)
            return None


def build(settings: Settings, cc: ContactCenter | None = None, redis_client: redis.Redis | None = None) -> Runtime:
    cc = cc or load_config(settings.config_path)
    if redis_client is None:
        url = settings.redis_url or redis_conn.ensure_embedded(settings.instance_path)[0]
        redis_client = redis_conn.connect(url)
    engine = make_engine(settings.database_url)
    keys = Keys(cc.workspace)
    router = Router(Scripts(redis_client, keys, cc.timezone))
    agents = AgentStates(redis_client, keys)
    jobs = Queue(RQ_QUEUE, connection=redis_client)
    acd = AcdService(cc, redis_client, keys, router, public_url=settings.public_url, agents=agents,
                     twilio=lambda: twilio_client(settings.twilio_account_sid, settings.twilio_auth_token,
                                                  settings.twilio_api_url),
                     record_call=lambda sid: jobs.enqueue("ivr.records.sync_call_record", sid, None,
                                                          job_timeout=60, result_ttl=600))
    return Runtime(settings=settings, cc=cc, redis=redis_client, engine=engine,
                   sessions=make_session_factory(engine), jobs=jobs,
                   keys=keys, calls=CallState(redis_client, keys), agents=agents,
                   router=router, acd=acd, greeting_lookup=GreetingLookup(engine))


_current: Runtime | None = None


def install(runtime: Runtime) -> None:
    global _current
    _current = runtime


def current() -> Runtime:
    """This process's runtime; a worker builds it from the environment on first use."""
    global _current
    if _current is None:
        _current = build(from_env())
    return _current


def mirror_agents(rt: Runtime, now) -> int:
    """Copy every SQL agent's routing profile into Redis (at start and after seeding)."""
    from store.agents import as_dict, list_agents
    with rt.sessions() as session:
        agents = [as_dict(a) for a in list_agents(session)]
    for agent in agents:
        rt.agents.sync(agent, now)
    return len(agents)
