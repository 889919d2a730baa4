"""Agent status time in SQL: each agent's seconds per status and day, a break per reason
(`AgentStatusTime`), copied from the ACD's day counters (acd/agent_time.py), and summed over a range
of days for the reports by agent.

Each copy rewrites an agent's day whole, so a copy made twice, or by two workers in turn, changes
nothing that was right. "Logged in" is every status but offline; "staffed" is logged in and not on
break (available, offered a call, on a call, in wrap-up); occupancy is the staffed time spent on
calls (busy, wrap-up), as the live board counts it (acd/stats.py).
"""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .models import AgentStatusTime

STAFFED = ("available", "reserved", "busy", "wrapup")
WORKING = ("busy", "wrapup")
NO_REASON = ""           # a break nobody gave a reason for (an admin's, or before reasons were configured)


def from_counters(counters: dict[str, float], status: str | None = None, reason: str | None = None,
                  ongoing_s: float = 0.0) -> dict[tuple[str, str], float]:
    """(status, reason) -> seconds of one agent's day, from the ACD's day counters (`s_<status>` and
    `s_break:<reason>`, seconds of the periods the agent has left) and the status they are in now,
    `ongoing_s` long so far (pure)."""
    out: dict[tuple[str, str], float] = defaultdict(float)
    for field, seconds in counters.items():
        if field.startswith("s_break:"):
            out[("break", field.removeprefix("s_break:"))] += seconds
        elif field.startswith("s_") and field != "s_offline":
            out[(field.removeprefix("s_"), NO_REASON)] += seconds
    # s_break holds every break; the reasons are parts of it
    given = sum(s for (st, why), s in out.items() if st == "break" and why != NO_REASON)
    if ("break", NO_REASON) in out:
        out[("break", NO_REASON)] -= given
    if status and status != "offline" and ongoing_s > 0:
        out[(status, (reason or NO_REASON) if status == "break" else NO_REASON)] += ongoing_s
    return {key: round(s, 1) for key, s in out.items() if s >= 0.05}


def replace_day(session: Session, workspace: str, day: str, agent: str, seconds: dict[tuple[str, str], float]) -> None:
    """The agent's day as `seconds` says, whatever was there."""
    session.execute(delete(AgentStatusTime).where(AgentStatusTime.workspace == workspace, AgentStatusTime.day == day,
                                                  AgentStatusTime.agent == agent))
    session.add_all(AgentStatusTime(workspace=workspace, day=day, agent=agent, status=status, reason=reason,
                                    seconds=s) for (status, reason), s in seconds.items())


def summed(session: Session, workspace: str, first: str, last: str, agent: str | None = None) -> dict[str, dict]:
    """Agent id -> the time figures of the days `first`..`last` (YYYY-MM-DD, both included)."""
    query = select(AgentStatusTime).where(AgentStatusTime.workspace == workspace, AgentStatusTime.day >= first,
                                          AgentStatusTime.day <= last)
    if agent:
        query = query.where(AgentStatusTime.agent == agent)
    per_agent: dict[str, dict[tuple[str, str], float]] = defaultdict(lambda: defaultdict(float))
    for row in session.scalars(query):
        per_agent[row.agent][(row.status, row.reason)] += row.seconds
    return {agent_id: figures(seconds) for agent_id, seconds in per_agent.items()}


def figures(seconds: dict[tuple[str, str], float]) -> dict:
    """Logged-in, staffed and break time, breaks per reason, occupancy (pure)."""
    by_status: dict[str, float] = defaultdict(float)
    breaks: dict[str, float] = defaultdict(float)
    for (status, reason), s in seconds.items():
        by_status[status] += s
        if status == "break":
            breaks[reason or "(no reason)"] += s
    staffed = sum(by_status[s] for s in STAFFED)
    working = sum(by_status[s] for s in WORKING)
    return {"logged_in_s": round(staffed + by_status["break"], 1), "staffed_s": round(staffed, 1),
            "break_s": round(by_status["break"], 1), "occupancy": round(working / staffed, 3) if staffed else None,
            "breaks": {reason: round(s, 1) for reason, s in sorted(breaks.items())}}
