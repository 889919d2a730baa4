"""Calls Redis holds as live, reconciled with Twilio's view of them: Twilio is the source of truth.

Twilio's status callbacks are not retried: one lost (the service down or restarting, Redis away, a
network blip) would leave a caller in line to be offered to an agent, an agent busy on a call that
ended, or a call that never gets its record (every call is in `Keys.open_calls` from its first turn
until its end is learned). So every worker reconciles as it starts, after any Redis outage its clock noticed, and one of
them every minute (a lease in Redis): Twilio lists the calls it has not ended (three Calls lists,
paged, whatever the number of calls), and only the calls Redis holds as live that are not among them
are fetched one by one, to confirm they are over (a call that began after the listing is still live).
Those end now, as their status callback would have ended them. Running it twice changes nothing.
A callback request is checked by its customer's leg once it has one; before that nobody is on the line.
Twilio unreachable, or any other answer than "over": the call is left as it is.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from twilio.base.exceptions import TwilioException, TwilioRestException

log = logging.getLogger(__name__)

OVER = frozenset({"completed", "canceled", "failed", "busy", "no-answer"})
STILL_LIVE = ("queued", "ringing", "in-progress")      # the statuses of calls Twilio has not ended
PAGE_SIZE = 1000
LIVE = frozenset({"waiting", "offered", "connecting", "connected"})


def live_calls(acd) -> list[str]:
    """Sids of the calls the service holds as live: begun and not ended (in the IVR, in line, talking,
    hearing goodbye), and any a queue or an agent's offer or call still holds."""
    sids: list[str] = [x.decode() for x in acd.r.zrange(acd.keys.open_calls(), 0, -1)]
    for name in acd.cc.queues:
        sids.extend(x.decode() for x in acd.r.zrange(acd.keys.queue(name), 0, -1))
    for state in acd.agents.all().values():
        if state.get("call"):
            sids.append(state["call"])
        elif state.get("offer"):
            call = acd.r.hget(acd.keys.offer(state["offer"]), "call")
            if call:
                sids.append(call.decode())
    return list(dict.fromkeys(sids))


def twilio_status(acd, call_sid: str) -> str | None:
    try:
        return acd.twilio().calls(call_sid).fetch().status
    except TwilioRestException as exc:
        return "completed" if exc.status == 404 else None    # an unknown call is no live call
    except (TwilioException, OSError) as exc:
        log.warning("reconcile: could not ask Twilio about %s: %s", call_sid, exc)
        return None


def live_at_twilio(acd) -> set[str] | None:
    """Sids of every call Twilio has not ended; None when Twilio could not be asked."""
    try:
        return {call.sid for status in STILL_LIVE
                for call in acd.twilio().calls.stream(status=status, page_size=PAGE_SIZE)}
    except (TwilioException, OSError) as exc:
        log.warning("reconcile: could not list Twilio's live calls: %s", exc)
        return None


def reconcile_if_due(acd, calls, now: datetime, every_s: float, record_call: Callable[[str], None] | None = None,
                     force: bool = False) -> list[str] | None:
    """`reconcile` by the one worker that takes this period's lease (or at once with `force`); None
    when another worker has it."""
    if not force and not acd.r.set(acd.keys.reconcile_lease(), 1, nx=True, ex=max(1, int(every_s) - 1)):
        return None
    return reconcile(acd, calls, now, record_call)


def reconcile(acd, calls, now: datetime, record_call: Callable[[str], None] | None = None) -> list[str]:
    """End the live calls Twilio says are over; their sids."""
    ended = []
    day = now.astimezone(ZoneInfo(acd.cc.timezone)).strftime("%Y%m%d")
    held = live_calls(acd)
    if not held:
        return ended
    live = live_at_twilio(acd)
    if live is None:
        return ended
    for sid in held:
        state = calls.load(sid)
        if state is None or state.get("ended_at"):
            acd.r.zrem(acd.keys.open_calls(), sid)      # ended, or forgotten long ago: nothing to end
            if state is not None and state.get("acd") in LIVE:
                acd.caller_gone(sid, now)               # ended, yet still held by a queue or an agent
            continue
        if state.get("acd") not in LIVE and state.get("callback"):
            continue                                    # a callback request that left the line
        leg = state.get("callback_leg") if state.get("callback") else sid
        if not leg or leg in live:
            continue
        status = twilio_status(acd, leg)      # not listed as live: confirm (it may have begun since)
        if status not in OVER:
            continue
        acd.caller_gone(sid, now)
        if calls.end(sid, status, None, now.timestamp(), day) is not None and record_call is not None:
            record_call(sid)
        log.info("reconcile: %s was %s at Twilio; ended", sid, status)
        ended.append(sid)
    return ended
