"""What a caller brings into a queue: requirements, place in line, routing policy
and the timers that act on the wait (escalations, max wait, preferred agent).

Pure: the IVR webhook builds these and hands them to `Router.enqueue`.
"""
from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache

import phonenumbers

from contactcenter.model import Node, Queue

# A call's place in line is its virtual arrival time: each point of priority is
# worth this much waiting, so higher priority goes first and long waits still age.
PRIORITY_CREDIT_S = 600


def requirements(queue: Queue, node: Node | None = None, skills: dict[str, int] | None = None,
                 raised: dict[str, int] | None = None) -> dict[str, int]:
    """The queue's skills, raised by the node's and by `raised` (the queue's rules that held; the
    higher level of each wins), or `skills` outright."""
    if skills is not None:
        return dict(skills)
    merged = dict(queue.skills)
    for more in (node.skills if node else {}, raised or {}):
        for skill, level in more.items():
            merged[skill] = max(level, merged.get(skill, 0))
    return merged


def reqkey(req: dict[str, int]) -> str:
    """A canonical name for a set of requirements: calls that share it wait in one line."""
    return ",".join(f"{skill}={level}" for skill, level in sorted(req.items())) or "*"


@lru_cache(maxsize=50_000)
def region_of(number: str) -> str:
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(number, None)) or ""
    except phonenumbers.NumberParseException:
        return ""


def enqueue_fields(queue: Queue, node: Node | None, from_number: str, now: datetime, *,
                   priority_bonus: int = 0, preferred_agent: str | None = None,
                   call_sid: str = "", region: str | None = None, raised: dict[str, int] | None = None
                   ) -> tuple[dict, list[tuple[str, float]]]:
    """(call fields, timers) for a caller entering `queue` now; `priority_bonus` and `raised`: what the
    queue's rules that held add (contactcenter/rules.py)."""
    at = now.timestamp()
    req = requirements(queue, node, raised=raised)
    fields = {
        "queue": queue.name,
        "req": req,
        "reqkey": reqkey(req),
        "score": round((at - (queue.priority + priority_bonus) * PRIORITY_CREDIT_S) * 1000),
        "strategy": queue.strategy,
        # Twilio sends the caller's country (FromCountry); parse the number only without it
        "region": region if region is not None else region_of(from_number),
        "local_first": "1" if queue.local_first else "0",
        "offer_timeout": queue.offer_timeout_s,
        "max_missed": queue.max_missed,
        "wrapup_s": queue.wrapup_s,
        "service_level_s": queue.service_level_s,
        "enqueued_at": round(at, 3),
    }
    if node is not None and node.kind == "callback":
        fields["callback_number"] = from_number      # a request to be called back, not a caller on hold
    timers = [(f"escalate:{call_sid}:{i}", at + step.after_s) for i, step in enumerate(queue.escalate)]
    if queue.max_wait_s:
        timers.append((f"maxwait:{call_sid}", at + queue.max_wait_s))
    if preferred_agent and queue.preferred_agent_wait_s:
        # normally found by the enqueue script (the caller's last agent); given here, it wins
        fields["pref_agent"] = preferred_agent
        fields["pref_until"] = round(at + queue.preferred_agent_wait_s, 3)
        timers.append((f"preferred:{call_sid}", at + queue.preferred_agent_wait_s))
    # the requirements travel as JSON text inside the call hash; the ladder lets the enqueue script
    # queue a caller whom only a later step's agents could serve (nobody speaks Spanish yet, say)
    fields["req"] = json.dumps(req, separators=(",", ":"), sort_keys=True)
    fields["ladder"] = json.dumps([step.skills for step in queue.escalate], separators=(",", ":"))
    return fields, timers
