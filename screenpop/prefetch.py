"""Prefetching a call's screen-pop context, in RQ jobs, from the moment the call enters the IVR.

For every call the prefetch asks the CRM adapter who the caller is, reads their history
from the call records (last interactions, repeat caller, average CSAT) and keeps the result
in Redis (`Keys.screenpop`) for the call's life. The pop at offer time reads only that key,
so CRM time never adds to an offer.

The IVR's first turn asks for it with two commands in its own round trip: the call joins a
pending list, and a flag says whether a job to work through that list is already queued;
only the request that set the flag queues one (`PrefetchJobs.pending`). One RQ job (one fork of
the worker) thus serves every call that arrived meanwhile, looked up side by side, so a busy
contact center adds a job per batch rather than per call to the worker that also writes the
call records. Each call is looked up once: a marker set with NX makes a repeat (Twilio
retrying /voice/incoming) a no-op.
"""
from __future__ import annotations

import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Callable

import redis

from store.agents import agent_names
from store.callstate import CallState
from store.keys import Keys
from store.records import csat_average, earlier_calls

from . import history
from .adapters import Crm, CrmUnavailable

log = logging.getLogger(__name__)
RESULT_TTL_S = 6 * 3600          # as long as a live call (store.callstate.LIVE_TTL_S)
RUNNING_TTL_S = 120              # a job that died mid-way lets the next request try again
SCHEDULED_TTL_S = 10             # a queued job lost before it ran stalls the list this long at most
BATCH = 32                       # calls taken from the list at a time ...
LOOKUPS_AT_ONCE = 8              # ... and looked up side by side (a slow CRM is mostly waiting)
PAUSE_AFTER_FAILURES = 5         # an outside CRM failing this often in a row is skipped ...
PAUSE_S = 30                     # ... for this long, so a dead CRM does not hold up the worker


class Prefetcher:
    """Asks for calls' prefetch: inside the caller's pipeline (`add`, then `added` with the
    results of the commands it added), or on its own (calling it). `schedule()` queues the job
    that works through the pending list (`PrefetchJobs.pending`)."""

    def __init__(self, r: redis.Redis, keys: Keys, schedule: Callable[[], None]):
        self.r, self.keys, self.schedule = r, keys, schedule

    def add(self, pipe, call_sid: str) -> int:
        """Queue the request in `pipe`; returns how many commands it added (their results go to `added`)."""
        pipe.rpush(self.keys.prefetch_pending(), call_sid)
        pipe.set(self.keys.prefetch_scheduled(), "1", nx=True, ex=SCHEDULED_TTL_S)
        return 2

    def added(self, results: list) -> None:
        """After the pipeline ran: the request that found no job queued queues one."""
        if results and results[-1] is True:
            self.schedule()

    def __call__(self, call_sid: str) -> None:
        with self.r.pipeline(transaction=False) as pipe:
            self.add(pipe, call_sid)
            self.added(pipe.execute())


class PrefetchJobs:
    """The job side: looks calls up in the CRM and the call history and keeps the result."""

    def __init__(self, r: redis.Redis, keys: Keys, calls: CallState, sessions, crm: Crm):
        self.r, self.keys, self.calls, self.sessions, self.crm = r, keys, calls, sessions, crm

    def pending(self) -> int:
        """Prefetch every call waiting in the list, several at a time. Returns how many."""
        self.r.delete(self.keys.prefetch_scheduled())      # from here on, a new request queues a new job
        done = 0
        with ThreadPoolExecutor(LOOKUPS_AT_ONCE, thread_name_prefix="prefetch") as pool:
            while sids := self.r.lpop(self.keys.prefetch_pending(), BATCH):
                done += len(list(pool.map(lambda sid: self.one(sid.decode()), sids)))
        return done

    def one(self, call_sid: str) -> str:
        """Prefetch one call now. Returns what it did."""
        key = self.keys.screenpop(call_sid)
        try:
            if not self.r.set(key, json.dumps({"state": "running"}), nx=True, ex=RUNNING_TTL_S):
                return "already"
            state = self.calls.load(call_sid)
            if state is None:
                self.r.delete(key)
                return "gone"
            context = gather(self.crm, self.sessions, self.r, self.keys, call_sid, state)
            self.r.set(key, json.dumps(context, ensure_ascii=False), ex=RESULT_TTL_S)
            self.tell_agent(call_sid)
            return "crm failed" if context["crm_error"] else "done"
        except Exception:  # noqa: BLE001 - one call's failure must not cost the others in the batch
            log.exception("prefetch of %s failed", call_sid)
            return "failed"


    def tell_agent(self, call_sid: str) -> None:
        """The context is kept: an agent already offered the call, or on it, gets a `screenpop` event
        (their stream adds the whole pop) so their card fills in. Read after the context was kept, so
        an offer made meanwhile already pops it complete: no offer is left with half a pop."""
        acd, agent, rid = self.r.hmget(self.keys.call(call_sid), "acd", "agent", "offer")
        if acd == b"offered" and rid:
            agent = self.r.hget(self.keys.offer(rid.decode()), "agent")
        elif acd not in (b"connecting", b"connected"):
            return
        if agent:
            self.r.publish(self.keys.agent_channel(agent.decode()),
                           json.dumps({"event": "screenpop", "call_sid": call_sid}))


def gather(crm: Crm, sessions, r: redis.Redis, keys: Keys, call_sid: str, state: dict[str, str]) -> dict:
    """The prefetched context of a live call (its Redis hash `state`); never raises for the CRM."""
    e164 = state.get("from") or ""
    started = time.monotonic()
    contact, crm_error = look_up(crm, r, keys, e164) if e164 else (None, None)
    crm_ms = round((time.monotonic() - started) * 1000)
    # The history belongs to the built-in database: the IVR's contact id (or the built-in CRM's).
    contact_id = _int(state.get("contact_id"))
    if contact_id is None and crm.source == "sql" and contact:
        contact_id = _int(contact.get("id"))
    arrived = datetime.fromtimestamp(float(state.get("arrived_at") or time.time()), timezone.utc)
    past, arrivals, csat, history_error = [], [], None, None
    if e164:
        try:
            with sessions() as session:
                records = earlier_calls(session, e164, arrived, call_sid, contact_id, limit=history.HISTORY_LIMIT)
                csat = csat_average(session, e164, contact_id)
                names = agent_names(session, {rec.agent_id for rec in records if rec.agent_id})
                past, arrivals = history.entries(records, names=names), [rec.arrived_at for rec in records]
        except Exception as exc:  # noqa: BLE001 - the pop says the history is missing instead
            log.exception("history of %s failed", call_sid)
            history_error = f"call history unavailable ({type(exc).__name__})"
    return {"state": "done", "fetched_at": round(time.time(), 3), "source": crm.source, "crm_ms": crm_ms,
            "contact": contact, "crm_error": crm_error, "csat_avg": csat, "history": past,
            "repeat_caller": history.is_repeat_caller(arrivals, arrived), "history_error": history_error}


def caller_csat(sessions, e164: str, contact_id: int | None = None) -> float | None:
    """The caller's average CSAT over their rated calls (None: none rated), as the pop shows it: calls
    from this number, and from any number of the CRM contact `contact_id` when given. `sessions` is a
    session factory; `functools.partial(caller_csat, sessions)` is the routing rules' `csat_of`."""
    with sessions() as session:
        return csat_average(session, e164, contact_id)


def look_up(crm: Crm, r: redis.Redis, keys: Keys, e164: str) -> tuple[dict | None, str | None]:
    """(contact or None, None) or (None, why the CRM was unavailable). An outside CRM that keeps
    failing is paused a while: every lookup would otherwise wait for its timeout."""
    outside = crm.source != "sql"
    if outside:
        failures = int(r.get(keys.crm_failures()) or 0)
        if failures >= PAUSE_AFTER_FAILURES:
            return None, f"paused after {failures} failed lookups in a row"
    try:
        contact = crm.lookup(e164)
    except CrmUnavailable as exc:
        reason = str(exc)
    except Exception as exc:  # noqa: BLE001 - an adapter bug must not cost the caller their pop
        log.exception("CRM lookup of %s failed", e164)
        reason = f"lookup failed ({type(exc).__name__})"
    else:
        if outside:
            r.delete(keys.crm_failures())
        return contact, None
    if outside:
        with r.pipeline() as pipe:
            pipe.incr(keys.crm_failures())
            pipe.expire(keys.crm_failures(), PAUSE_S)
            pipe.execute()
    return None, reason


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
