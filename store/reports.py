"""Reports: the interval table (store/intervals.py) summed per 15-minute interval, day, queue or
agent over a range of days in the contact center's time zone, as rows of figures or CSV.

Definitions (as the live figures): service level = answered within the queue's threshold ÷
(answered + abandoned − short abandons); ASA = mean wait of answered calls; AHT = mean talk +
wrap-up of answered calls; first-contact resolution = share of answered calls whose caller did not
call again within 24 h; CSAT = mean survey rating; self-service rate = calls that ended in the IVR
without queueing ÷ all calls. By agent, their time too (store/agent_time.py): logged in, staffed,
on break (and per reason), occupancy. By rule (store/models.py CallRule): the calls that took each
routing rule (a flow's route node, a queue's rules) and, of those, how many were answered, abandoned,
left a voicemail or served themselves, counted as the intervals count them.
"""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, distinct, func, select
from sqlalchemy.orm import Session

from .agent_time import summed
from .intervals import COUNTERS
from .models import CallRecord, CallRule, IntervalStat

GROUPINGS = ("interval", "day", "queue", "agent", "rule")
COLUMNS = ("calls", "offered", "answered", "abandoned", "short_abandoned", "overflowed", "callbacks",
           "service_level", "asa_s", "aht_s", "fcr", "csat_avg", "csat_n", "self_service", "self_service_rate",
           "transferred", "hold_s")
AGENT_COLUMNS = ("logged_in_s", "staffed_s", "break_s", "occupancy", "breaks")    # by agent: their time
RULE_COLUMNS = ("flow", "node", "kind", "rule", "expression", "target", "calls", "answered", "abandoned",
                "voicemail", "self_service")                                   # by rule: the whole row
MAX_DAYS = 366


def _ratio(a: float, b: float, digits: int = 3) -> float | None:
    return round(a / b, digits) if b else None


def figures(s: dict[str, float]) -> dict:
    """The report figures of summed interval counters (pure)."""
    answered = s["answered"]
    return {
        "calls": int(s["calls"]),
        "offered": int(s["offered"]),
        "answered": int(answered),
        "abandoned": int(s["abandoned"]),
        "short_abandoned": int(s["short_abandoned"]),
        "overflowed": int(s["overflowed"]),
        "callbacks": int(s["callbacks"]),
        "service_level": _ratio(s["answered_sl"], answered + s["abandoned"] - s["short_abandoned"]),
        "asa_s": _ratio(s["answer_wait_s"], answered, 1),
        "aht_s": _ratio(s["talk_s"] + s["wrap_s"], answered, 1),
        "fcr": _ratio(answered - s["repeat_24h"], answered),
        "transferred": int(s["transferred"]),
        "hold_s": round(s["hold_s"], 1),
        "csat_avg": _ratio(s["csat_sum"], s["csat_n"], 2),
        "csat_n": int(s["csat_n"]),
        "self_service": int(s["self_service"]),
        "self_service_rate": _ratio(s["self_service"], s["calls"]),
    }


def day_range(since: date, until: date, tz: str) -> tuple[datetime, datetime]:
    """UTC bounds of local days since..until (both included); ValueError for days at the ends of
    what `date` holds, whose bounds no `datetime` can hold (callers bound days first: acd/days.py)."""
    zone = ZoneInfo(tz)
    try:
        return (datetime.combine(since, time(), zone).astimezone(ZoneInfo("UTC")),
                datetime.combine(until + timedelta(days=1), time(), zone).astimezone(ZoneInfo("UTC")))
    except OverflowError:
        raise ValueError(f"the days {since}..{until} are out of range") from None


def report(session: Session, workspace: str, tz: str, since: date, until: date, by: str = "day",
           queue: str | None = None, agent: str | None = None) -> list[dict]:
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}")
    if until < since or (until - since).days >= MAX_DAYS:
        raise ValueError(f"the range must run forwards and span at most {MAX_DAYS} days")
    low, high = day_range(since, until, tz)
    if by == "rule":
        return rule_report(session, workspace, since, until, queue=queue, agent=agent)
    query = select(IntervalStat).where(IntervalStat.workspace == workspace, IntervalStat.start >= low,
                                       IntervalStat.start < high)
    if by == "agent" or agent:
        query = query.where(IntervalStat.agent != "")
    else:
        query = query.where(IntervalStat.agent == "")
    if by == "queue":
        query = query.where(IntervalStat.queue != "")
    if queue:
        query = query.where(IntervalStat.queue == queue)
    if agent:
        query = query.where(IntervalStat.agent == agent)
    zone = ZoneInfo(tz)
    groups: dict[str, dict[str, float]] = {}
    for row in session.scalars(query):
        local = row.start.astimezone(zone)
        key = {"interval": local.isoformat(timespec="minutes"), "day": local.date().isoformat(),
               "queue": row.queue, "agent": row.agent}[by]
        sums = groups.setdefault(key, dict.fromkeys(COUNTERS, 0))
        for name in COUNTERS:
            sums[name] += getattr(row, name)
    rows = {key: {by: key, **figures(groups[key])} for key in groups}
    if by == "agent" and not queue:   # the agents' time (store/agent_time.py), those without calls too;
        # not per queue: an agent's hour serves every queue they hold skills for
        for agent_id, time_figures in summed(session, workspace, since.isoformat(), until.isoformat(),
                                             agent).items():
            rows.setdefault(agent_id, {by: agent_id, **figures(dict.fromkeys(COUNTERS, 0))}).update(time_figures)
    if by == "agent":
        for row in rows.values():
            for column in AGENT_COLUMNS:
                row.setdefault(column, {} if column == "breaks" else None)
    return [rows[key] for key in sorted(rows)]


def rule_report(session: Session, workspace: str, since: date, until: date, queue: str | None = None,
                agent: str | None = None) -> list[dict]:
    """One row per routing rule taken on the days since..until (the center's): `calls` that took it
    (each once, however often), and of those `answered`, `abandoned` (both having queued, as the
    intervals count them), `voicemail` and `self_service` (the record's outcome); `queue`, `agent`:
    only the calls that ended in that queue or with that agent. Ordered by flow, node, kind and rule,
    a route's else (`rule` "else") last; `expression` and `target` as the rule was last taken."""
    key = (CallRule.flow, CallRule.node, CallRule.kind, CallRule.rule)
    where = [CallRule.workspace == workspace, CallRule.day >= since.isoformat(), CallRule.day <= until.isoformat()]
    if queue:
        where.append(CallRecord.queue == queue)
    if agent:
        where.append(CallRecord.agent_id == agent)
    queued = CallRecord.enqueued_at.is_not(None)

    def calls(*conditions):
        return func.count(distinct(case((and_(*conditions), CallRule.call_sid)) if conditions else CallRule.call_sid))

    counts = session.execute(
        select(*key, calls(), calls(queued, CallRecord.answered_at.is_not(None)),
               calls(queued, CallRecord.outcome == "abandoned"), calls(CallRecord.outcome == "voicemail"),
               calls(CallRecord.outcome == "self_service"))
        .join(CallRecord, CallRecord.call_sid == CallRule.call_sid).where(*where).group_by(*key)).all()
    latest: dict[tuple, tuple] = {}        # the rule as last taken: (day, expression, target)
    for *group, expression, target, day in session.execute(
            select(*key, CallRule.expression, CallRule.target, func.max(CallRule.day))
            .join(CallRecord, CallRecord.call_sid == CallRule.call_sid).where(*where)
            .group_by(*key, CallRule.expression, CallRule.target)):
        seen = (day, expression or "", target)
        if tuple(group) not in latest or seen > latest[tuple(group)]:
            latest[tuple(group)] = seen
    rows = []
    for flow, node, kind, rule, *figures_ in sorted(counts, key=lambda c: (c[0], c[1], c[2], c[3] == -1, c[3])):
        _day, expression, target = latest[(flow, node, kind, rule)]
        rows.append({"flow": flow, "node": node, "kind": kind, "rule": "else" if rule == -1 else rule,
                     "expression": expression or None, "target": target,
                     **dict(zip(RULE_COLUMNS[6:], (int(n) for n in figures_), strict=True))})
    return rows


def _cell(value) -> object:
    if isinstance(value, dict):                       # breaks: "lunch 1800; training 600"
        return "; ".join(f"{key} {seconds:g}" for key, seconds in value.items())
    return "" if value is None else value


def to_csv(rows: list[dict], by: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if by == "rule":                                  # its own columns, the rule's key first
        writer.writerow(RULE_COLUMNS)
        for row in rows:
            writer.writerow(tuple(_cell(row.get(c)) for c in RULE_COLUMNS))
        return out.getvalue()
    columns = (*COLUMNS, *AGENT_COLUMNS) if by == "agent" else COLUMNS
    writer.writerow((by, *columns))
    for row in rows:
        writer.writerow((row[by], *(_cell(row.get(c)) for c in columns)))
    return out.getvalue()
