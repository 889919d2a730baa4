"""The clients and service objects of one process, built once from Settings and handed down.

The app factory (service.app) builds them for a web process, the worker (service.worker) for a
worker process, from the same environment, so web and worker always agree on Redis, SQL and the
config. Background work is queued as functions of service.jobs.

Redis: `redis` answers requests and jobs with short timeouts and no retries (store.redis_conn.connect:
a webhook answers within 2 s with Redis hung or gone); `listener` has no read timeout, for the SSE
hub's pub/sub listener that waits for messages. RQ's worker brings its own connection (Procfile).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

import redis
from rq import Queue
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from acd.agents import AgentStates
from acd.board import Board
from acd.history import CallHistory
from acd.recordings import Recordings
from acd.reporting import Reports
from acd.roster import Roster
from acd.routing import Router
from acd.scripts import Scripts
from acd.service import AcdService, twilio_client
from acd.sign_ins import SignIns
from acd.wrapup import WrapUps
from contactcenter.config import load_config
from contactcenter.model import ContactCenter
from ivr import asking
from ivr.calls import IvrCalls
from ivr.connect import Connections
from ivr.records import CallRecords
from ivr.survey import Surveys
from people.accounts import Accounts
from people.audit import AuditTrail
from people.directory import UserDirectory
from people.sessions import Sessions
from people.throttle import LoginThrottle
from screenpop.adapters import crm_from_settings
from screenpop.context import ScreenPops
from screenpop.crm import GreetingLookup
from screenpop.prefetch import Prefetcher, PrefetchJobs, caller_csat
from screenpop.rule_contact import RuleContacts
from store import redis_conn
from store.callstate import CallState
from store.db import make_engine, make_session_factory
from store.keys import Keys
from store.settings import Settings
from workspaces.registry import Registry

from . import jobs as job_functions

RQ_QUEUE = "callrouter"   # the Procfile's worker listens here


@dataclass
class Services:
    settings: Settings
    cc: ContactCenter
    clock: Callable[[], datetime]
    redis: redis.Redis
    listener: redis.Redis     # blocking reads (pub/sub): no read timeout
    engine: Engine
    sessions: sessionmaker
    jobs: Queue
    keys: Keys
    calls: CallState
    agents: AgentStates
    router: Router
    acd: AcdService
    roster: Roster
    wrapups: WrapUps
    greeting_lookup: GreetingLookup
    prefetch: Prefetcher
    prefetching: PrefetchJobs
    screenpops: ScreenPops
    records: CallRecords
    ivr: IvrCalls
    surveys: Surveys
    connections: Connections
    board: Board
    reports: Reports
    history: CallHistory
    recordings: Recordings
    sign_ins: SignIns
    people_sessions: Sessions     # signed-in people (Redis), not SQL's `sessions`
    accounts: Accounts
    audit: AuditTrail
    workspaces: Registry          # the operator's registry of workspaces (not serving calls yet)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def build(settings: Settings, cc: ContactCenter | None = None, redis_client: redis.Redis | None = None,
          clock: Callable[[], datetime] | None = None, redis_timeout_s: float = redis_conn.SOCKET_TIMEOUT_S
          ) -> Services:
    """`redis_client` (tests) serves both requests and listeners; `redis_timeout_s` bounds each Redis
    command of the built client (the worker, whom no caller waits for, allows longer)."""
    cc = cc or load_config(settings.config_path)
    asking.warm(cc)                    # every menu's speech matcher compiled before the first caller
    clock = clock or utc_now
    listener = redis_client
    if redis_client is None:
        url = settings.redis_url or redis_conn.ensure_embedded(settings.instance_path)[0]
        redis_client = redis_conn.connect(url, socket_timeout=redis_timeout_s)
        listener = redis_conn.connect_listener(url)
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    keys = Keys(cc.workspace)
    jobs = Queue(RQ_QUEUE, connection=redis_client)
    record_call = job_functions.recorder(jobs)
    calls = CallState(redis_client, keys)
    agents = AgentStates(redis_client, keys)
    router = Router(Scripts(redis_client, keys, cc.timezone))
    acd = AcdService(cc, redis_client, keys, router, public_url=settings.public_url, agents=agents,
                     twilio=lambda: twilio_client(settings.twilio_account_sid, settings.twilio_auth_token,
                                                  settings.twilio_api_url),
                     record_call=lambda sid: record_call(sid, None))
    greeting_lookup = GreetingLookup(engine)
    prefetch = Prefetcher(redis_client, keys, schedule=lambda: job_functions.schedule_prefetch(jobs))
    crm = crm_from_settings(settings, sessions)
    # routing rules read the caller's contact: waited for at most the config's crm_wait_ms, then cached
    rule_contacts = RuleContacts(crm, functools.partial(caller_csat, sessions), cc.crm_wait_s,
                                 may_know=greeting_lookup.may_know if crm.source == "sql" else None)
    ivr = IvrCalls(cc, calls, lookup_contact=greeting_lookup.fields_or_none, call_ended=record_call,
                   prefetch=prefetch, clock=clock, acd=acd, rule_contacts=rule_contacts)
    surveys = Surveys(cc, calls, clock, record_call)
    prefetching = PrefetchJobs(redis_client, keys, calls, sessions, crm)
    people_sessions = Sessions(redis_client, keys, idle_s=settings.session_idle_s,
                               absolute_s=settings.session_absolute_s)
    throttle = LoginThrottle(redis_client, keys, limit=settings.login_limit, window_s=settings.login_window_s)
    history = CallHistory(cc, sessions, clock)
    return Services(
        settings=settings, cc=cc, clock=clock, redis=redis_client, listener=listener, engine=engine,
        sessions=sessions, jobs=jobs,
        keys=keys, calls=calls, agents=agents, router=router, acd=acd,
        roster=Roster(cc, sessions, agents, settings, clock),
        wrapups=WrapUps(redis_client, keys, calls, acd, record_call),
        greeting_lookup=greeting_lookup, prefetch=prefetch,
        prefetching=prefetching,
        screenpops=ScreenPops(redis_client, keys, clock,
                              fetch_now=prefetching.one if prefetching.crm.source == "sql" else None),
        records=CallRecords(cc, redis_client, keys, calls, sessions,
                            schedule_refresh=lambda: job_functions.schedule_refresh(jobs)),
        ivr=ivr, surveys=surveys, connections=Connections(ivr, acd, surveys, record_call, clock),
        board=Board(cc, redis_client, keys, engine, agents, clock), reports=Reports(cc, sessions, clock),
        history=history,
        recordings=Recordings(history, settings.twilio_account_sid, settings.twilio_auth_token,
                              settings.twilio_api_url),
        sign_ins=SignIns(sessions, settings, agents),
        people_sessions=people_sessions,
        accounts=Accounts(sessions, people_sessions, throttle, UserDirectory(redis_client, keys),
                          issuer=f"callrouter ({cc.workspace})"),
        audit=AuditTrail(redis_client, keys, sessions),
        workspaces=Registry(sessions, settings.encryption_key, clock))
