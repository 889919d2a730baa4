"""The ACD's timers (the `timers` zset): offers time out, wrap-ups end, waiting callers escalate,
overflow or stop waiting for their preferred agent, a caller who left while connecting is let go, one
never seen in their conference is looked for; and agents' shifts start and end. Run by the workers'
ticker, each timer claimed by one of them.
"""
from __future__ import annotations

import logging
from datetime import datetime

from contactcenter.shifts import on_shift

from .queueing import reqkey, requirements

log = logging.getLogger(__name__)


def tick(acd, now: datetime) -> int:
    """Handle every due timer; safe to run from several workers (each claimed by one, leased: a
    worker that dies before the ack leaves its timers to another)."""
    due = acd.router.claim_timers(now)
    for member in due:
        try:
            fire(acd, member, now)
        except Exception:  # noqa: BLE001 - one bad timer must not stop the others
            log.exception("timer %s failed", member)
    acd.router.ack_timers(due, now)         # a failed one too: tried again, it would fail every lease
    return len(due)


def refresh_shifts(acd, now: datetime) -> int:
    """Agents whose shift started or ended since the last look join or leave routing."""
    changed = 0
    for agent_id, (tz, schedule, was_on) in acd.agents.shifts().items():
        is_on = on_shift(schedule, tz, now)
        if is_on != was_on:
            done, offers = acd.router.shift_change(agent_id, is_on, now)
            changed += done
            acd.after(offers, now)
    return changed


def fire(acd, member: str, now: datetime) -> None:
    kind, _, rest = member.partition(":")
    if kind == "offer":
        acd.after(acd.router.answer(rest, "timeout", now)[2], now)
    elif kind == "wrapup":
        agent, _, sid = rest.partition(":")
        if acd.end_wrapup(agent, sid, now) is not None and acd.record_call is not None:
            acd.record_call(sid)            # the record learns the wrap-up time
    elif kind == "escalate":
        sid, _, step = rest.rpartition(":")
        queue = acd.cc.queues.get(acd._field(sid, "queue") or "")
        if queue and int(step) < len(queue.escalate):
            req = requirements(queue, skills=queue.escalate[int(step)].skills)
            acd.after(acd.router.escalate(sid, req, reqkey(req), now), now)
    elif kind == "maxwait":
        acd.overflow(rest, now)
    elif kind == "preferred":
        acd.after(acd.router.reroute(now, calls=[rest]), now)
    elif kind == "joining":                  # no sign yet that the caller is in their conference
        sid, _, rid = rest.partition(":")
        acd.legs.joining_overdue(sid, rid, now)
    elif kind == "leaving":                  # the caller hung up while connecting; no Dial end came
        acd.after(acd.router.dial_failed(rest, now)[1], now)
