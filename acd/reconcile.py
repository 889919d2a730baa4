"""After a restart: reconcile the calls Redis holds as live with Twilio's view of them.

While the service was down, Twilio's status callbacks for callers who hung up went nowhere (Twilio
does not retry them). Without this, such a caller would stay in line and be offered to an agent, or an
agent would stay busy on a call that ended. Each worker runs it once as it starts (running it twice
changes nothing): every call waiting, offered, connecting or connected is fetched through the REST
API, and those Twilio says are over end now, as their status callback would have ended them.
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
LIVE = frozenset({"waiting", "offered", "connecting", "connected"})


def live_calls(acd) -> list[str]:
    """Sids of the calls the ACD holds as live: in line, or held by an agent's offer or call."""
    sids: list[str] = []
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


def reconcile(acd, calls, now: datetime, record_call: Callable[[str], None] | None = None) -> list[str]:
    """End the live calls Twilio says are over; their sids."""
    ended = []
    day = now.astimezone(ZoneInfo(acd.cc.timezone)).strftime("%Y%m%d")
    for sid in live_calls(acd):
        state = calls.load(sid) or {}
        if state.get("acd") not in LIVE:
            continue
        leg = state.get("callback_leg") if state.get("callback") else sid
        if not leg:
            continue
        status = twilio_status(acd, leg)
        if status not in OVER:
            continue
        acd.caller_gone(sid, now)
        if calls.end(sid, status, None, now.timestamp(), day) is not None and record_call is not None:
            record_call(sid)
        log.info("reconcile: %s was %s at Twilio; ended", sid, status)
        ended.append(sid)
    return ended
