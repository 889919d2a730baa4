"""Writing a finished call's journey to its SQL call record (an RQ job).

The web process only enqueues; the worker reads the call from Redis and
upserts the record, so no webhook waits on SQL. Upserts merge, so the job
may run again for late callbacks (a transcription) and changes nothing twice.

Records are never lost: the step that ends a call also puts it in an outbox in Redis
(`Keys.records_pending`, store/lua/end_call.lua); a call leaves it only once SQL has its record.
The worker's sweeper (`flush_due`) writes what is left there (the job failed, was lost, SQL was
away), retrying with backoff, for as long as Redis keeps the ended call (a day).
"""
from __future__ import annotations

import logging
import math
from datetime import datetime, timezone
from typing import Callable

import redis

from contactcenter.model import ContactCenter
from store.callstate import CallState
from store.intervals import intervals_for_call, refresh
from store.keys import Keys
from store.records import insert_call_record_if_absent, upsert_call_record, write_call_rules

log = logging.getLogger(__name__)

INPUT_EVENTS = ("digits", "speech")    # journey steps that are something the caller did
REFRESH_LEASE_S = 120                  # a refresh job that died frees the way after this
MAX_SECONDS = 7 * 86400                # a call's duration, talk or wrap-up beyond this is taken as this
LATEST_STAMP = 4_102_444_800           # 2100-01-01: a later "time" is garbage, not a time
MAX_ID = 2**31 - 1                     # the SQL integer column's range
FLUSH_BATCH = 50                       # outbox records the sweeper writes at a time
RETRY_FIRST_S = 15                     # a record that failed is tried again after this, then twice as late
RETRY_MAX_S = 600


def record_fields(workspace: str, call_sid: str, state: dict[str, str], journey: list[dict],
                  segments: list[dict] | None = None) -> dict:
    """The call record columns for a call, from its Redis state and journey. A value out of its
    column's range (Twilio sent a CallDuration of 30 digits, say) is clamped or dropped and logged:
    the record is always written."""
    def number(name, cast=float, low=0, high=LATEST_STAMP, clamp=False):
        value = state.get(name)
        if value in (None, ""):
            return None
        try:
            n = cast(value)
        except (ValueError, OverflowError):
            log.warning("call %s: %s=%r is not a number; left out of the record", call_sid, name, value[:40])
            return None
        if not math.isfinite(n):
            log.warning("call %s: %s=%r is not a finite number; left out of the record", call_sid, name, value[:40])
            return None
        if not low <= n <= high:
            kept = min(max(n, low), high) if clamp else None
            log.warning("call %s: %s=%r out of range; recorded as %s", call_sid, name, value[:40], kept)
            return kept
        return n

    path = [s["node"] for s in journey if s.get("event") == "enter"]
    inputs = [{"node": s["node"], "kind": s["event"], "value": s.get("value"), "option": s.get("option"),
               "at": s.get("at")} for s in journey if s.get("event") in INPUT_EVENTS]
    return {
        "call_sid": call_sid,
        "workspace": workspace,
        "from_number": (state.get("from") or "")[:64] or None,
        "to_number": (state.get("to") or "")[:64] or None,
        "flow": state.get("flow"),
        "ivr_path": path,
        "ivr_inputs": inputs,
        "journey": journey,
        "queue": state.get("queue") or None,
        "arrived_at": number("arrived_at"),
        "enqueued_at": number("enqueued_at"),
        "offered_at": number("offered_at"),
        "answered_at": number("answered_at"),
        "agent_id": state.get("agent") or None,
        "ended_at": number("ended_at"),
        "duration_s": number("duration_s", int, high=MAX_SECONDS, clamp=True),
        "outcome": state.get("outcome") or None,
        "contact_id": number("contact_id", int, high=MAX_ID),
        "recording_url": (state.get("recording_url") or "")[:512] or None,
        "recording_duration_s": number("recording_duration_s", int, high=MAX_SECONDS, clamp=True),
        "voicemail_transcript": state.get("voicemail_transcript") or None,
        "csat": number("csat", int, low=1, high=5),
        # the wrap-up's, kept on the call too: a record written later by the sweeper still has them
        "disposition": (state.get("disposition") or "")[:64] or None,
        "notes": state.get("notes") or None,
        "talk_s": number("talk_s", high=MAX_SECONDS, clamp=True),
        "wrap_s": number("wrap_s", high=MAX_SECONDS, clamp=True),
        "hold_s": number("hold_s", high=MAX_SECONDS, clamp=True),
        "transfers": sum(1 for s in segments or () if s.get("kind") == "transfer") if segments else None,
        "segments": segments or None,
    }


class CallRecords:
    """Writes call records and the report intervals that follow them (the jobs' side).
    `schedule_refresh()` queues a job that runs `refresh_intervals`."""

    def __init__(self, cc: ContactCenter, r: redis.Redis, keys: Keys, calls: CallState, sessions,
                 schedule_refresh: Callable[[], None]):
        self.cc, self.r, self.keys, self.calls, self.sessions = cc, r, keys, calls, sessions
        self.schedule_refresh = schedule_refresh

    def sync(self, call_sid: str, extra: dict | None = None) -> str:
        """Upsert the call record of `call_sid` from Redis (plus `extra` columns)."""
        state = self.calls.load(call_sid)
        data = {"call_sid": call_sid, "workspace": self.cc.workspace}
        if state is not None:
            data = record_fields(self.cc.workspace, call_sid, state, self.calls.journey(call_sid),
                                 self.calls.segments(call_sid))
        elif not extra:
            log.warning("call %s is gone from Redis; nothing to record", call_sid)
            self._written(call_sid)
            return "gone"
        data.update(extra or {})
        with self.sessions() as session:
            record = upsert_call_record(session, data)
            # the routing rules the call took (reports by rule), replaced with the record, never added twice
            write_call_rules(session, record, self.cc.timezone)
            session.commit()
            # the report intervals follow the records (reports never read Redis): marked here, rewritten
            # by one job for many calls, so a busy interval is not recomputed once per call
            starts = intervals_for_call(session, self.cc.workspace, call_sid)
        self._written(call_sid)
        if starts:
            self.r.sadd(self.keys.reports_dirty(), *[int(s.timestamp()) for s in starts])
            if self.r.set(self.keys.reports_scheduled(), 1, nx=True, ex=REFRESH_LEASE_S):
                self.schedule_refresh()
        return data.get("outcome") or "updated"

    def router_away(self, call_sid: str, from_number: str | None, to_number: str | None, at: datetime,
                    path: str, call_status: str | None = None) -> None:
        """A webhook of `call_sid` failed (Redis away, a bug) and the caller heard the config's
        `when_down`: the call leaves a trace in SQL, outcome `failed`, unless it has a record already.
        A call that began while Redis was away lives nowhere else. The full record, once Redis holds
        the call again and it ends, merges over this one."""
        ended = at if call_status in ("completed", "busy", "failed", "no-answer", "canceled") else None
        with self.sessions() as session:
            insert_call_record_if_absent(session, {
                "call_sid": call_sid[:34], "workspace": self.cc.workspace, "from_number": from_number,
                "to_number": to_number, "arrived_at": at, "ended_at": ended, "outcome": "failed",
                "journey": [{"event": "router_away", "path": path[:64], "at": round(at.timestamp(), 3)}]})
            session.commit()

    def flush_due(self, now: float, limit: int = FLUSH_BATCH) -> tuple[int, int]:
        """The sweeper: write the records of ended calls still in the outbox whose time has come (the
        record job failed, was lost, or SQL was away); a failure is tried again later, each time
        twice as late (up to RETRY_MAX_S). (written, failed)."""
        due = [x.decode() for x in self.r.zrangebyscore(self.keys.records_pending(), "-inf", now, 0, limit)]
        written = failed = 0
        for call_sid in due:
            try:
                self.sync(call_sid)
                written += 1
            except Exception as exc:  # noqa: BLE001 - SQL away or a bad row: this call waits, the others go on
                tries = self.r.hincrby(self.keys.records_tries(), call_sid, 1)
                retry = min(RETRY_MAX_S, RETRY_FIRST_S * 2 ** (tries - 1))
                self.r.zadd(self.keys.records_pending(), {call_sid: now + retry}, xx=True)
                log.warning("record of %s not written (try %d, again in %d s): %s", call_sid, tries, retry,
                            type(exc).__name__)
                failed += 1
        return written, failed

    def _written(self, call_sid: str) -> None:
        """SQL has the call's record (or there is nothing left to write): out of the outbox."""
        with self.r.pipeline(transaction=False) as pipe:
            pipe.zrem(self.keys.records_pending(), call_sid)
            pipe.hdel(self.keys.records_tries(), call_sid)
            pipe.execute()

    def refresh_intervals(self) -> int:
        """Rewrite every dirty report interval once; the number rewritten. New marks that arrive
        meanwhile are taken in the same run; one that slips in after the last look finds the
        lease gone and queues the next run itself."""
        levels = {name: q.service_level_s for name, q in self.cc.queues.items()}
        done = 0
        while True:
            self.r.expire(self.keys.reports_scheduled(), REFRESH_LEASE_S)
            batch = self.r.spop(self.keys.reports_dirty(), 50)
            if not batch:
                self.r.delete(self.keys.reports_scheduled())
                if self.r.scard(self.keys.reports_dirty()) and \
                        self.r.set(self.keys.reports_scheduled(), 1, nx=True, ex=REFRESH_LEASE_S):
                    continue
                return done
            with self.sessions() as session:
                for start in sorted({int(x) for x in batch}):
                    refresh(session, self.cc.workspace, datetime.fromtimestamp(start, timezone.utc), levels)
                    done += 1
                session.commit()
