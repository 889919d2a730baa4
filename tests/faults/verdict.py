"""The truth of a fault scenario and what the service made of it.

The truth is what the callers lived, read from the simulator's transcripts (never from the service):
a caller bridged to an agent was answered; one who heard <Enqueue> (or was bridged straight from the
"Connecting you" announcement) entered the line; anyone else never left the IVR. The service's side
is read where it keeps it: the call_records table in SQL, GET /api/stats and the ACD's call hashes in
Redis. `settle` polls until the two agree or time runs out, so a healthy service is judged as soon as
it has healed (the records sweeper's backoff, the reconciler after an outage) and a lossy one after
the longest heal the service promises.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import redis as redis_lib
import requests
from sqlalchemy import select

from store.db import make_engine
from store.keys import Keys
from store.models import CallRecord

LIVE = ("waiting", "offered", "connecting", "connected")     # ACD states of a call still being served
HELD = ("reserved", "busy")                                   # agent states that hold a caller
# The record outcome each caller's fate must have (store/models.py CALL_OUTCOMES); a caller who never
# entered the line may have hung up in the menu or heard the when_down apology: any outcome but these.
OUTCOME = {"answered": "answered", "in line": "abandoned"}
QUEUE_OUTCOMES = ("answered", "abandoned", "overflowed", "transferred", None)
WORKSPACE = "acme"
MEASURED: list[str] = []        # each scenario's figures, printed after the run (conftest.py)


@dataclass
class Fate:
    sid: str
    fate: str                  # answered / in line (entered the queue, not answered) / ivr (never queued)
    agent: str | None = None   # the <Client> that answered


def fate_of(call) -> Fate:
    """What one simulated caller lived, from their transcript."""
    bridged = next((e for e in call.transcript if e["event"] == "bridged"), None)
    if bridged is not None:
        return Fate(call.sid, "answered", (bridged.get("to") or "").removeprefix("client:"))
    queued = any(e["event"] == "enqueue" and e.get("result") != "queue-full" for e in call.transcript)
    return Fate(call.sid, "in line" if queued else "ivr")


@dataclass
class Truth:
    fates: dict[str, Fate]
    wrapped: set[str] = field(default_factory=set)     # answered calls whose wrap-up the service took (200)

    @property
    def offered(self) -> int:
        return sum(1 for f in self.fates.values() if f.fate != "ivr")

    @property
    def answered(self) -> int:
        return sum(1 for f in self.fates.values() if f.fate == "answered")

    @property
    def abandoned(self) -> int:
        return sum(1 for f in self.fates.values() if f.fate == "in line")

    @property
    def ivr(self) -> int:
        return sum(1 for f in self.fates.values() if f.fate == "ivr")


def truth_of_load(sim, report) -> Truth:
    """The callers of a load run, and the calls its agents wrapped up: a load agent wraps up when its
    event stream says the call ended, and the report gives the call an occupancy (offer -> wrap-up
    done) only once the service answered that wrap-up 200. An `ended` event lost with Redis's pub/sub
    during the fault means no wrap-up was sent: nothing the service took, nothing it can lose."""
    fates = {r.call_sid: fate_of(sim.calls[r.call_sid]) for r in report.calls}
    wrapped = {r.call_sid for r in report.calls if fates[r.call_sid].fate == "answered" and r.occupancy_s is not None}
    return Truth(fates, wrapped)


@dataclass
class Facts:
    records: dict[str, CallRecord]
    stats: dict | None
    acd_states: dict[str, str]          # call sid -> the ACD's state of it, for calls Redis still holds
    outbox: int
    service_gone: bool = False          # nothing listens on its port any more (it exited)

    @property
    def today(self) -> dict:
        return (self.stats or {}).get("queues", {}).get("billing", {}).get("today", {})


def gather(url: str, admin: str, redis_url: str, database_url: str, sids) -> Facts:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(CallRecord.__table__).where(CallRecord.workspace == WORKSPACE)).all()
        records = {row.call_sid: row for row in rows}
    finally:
        engine.dispose()
    stats, gone = None, False
    try:
        answer = requests.get(f"{url}/api/stats", headers={"Authorization": f"Bearer {admin}"}, timeout=10)
        stats = answer.json() if answer.status_code == 200 else None
    except requests.ConnectionError:
        gone = True
    except requests.RequestException:
        pass
    keys, r = Keys(WORKSPACE), redis_lib.Redis.from_url(redis_url, socket_timeout=5)
    try:
        with r.pipeline(transaction=False) as pipe:
            for sid in sids:
                pipe.hget(keys.call(sid), "acd")
            states = pipe.execute()
        outbox = r.zcard(keys.records_pending())
    finally:
        r.close()
    return Facts(records, stats, {sid: s.decode() for sid, s in zip(sids, states, strict=True) if s}, outbox, gone)


# -- the checks: each lists what disagrees with the truth (empty: all is well) --------------------------
def missing_records(truth: Truth, facts: Facts) -> list[str]:
    missing = [f"{sid}: no record" for sid in truth.fates if sid not in facts.records]
    strangers = [f"{sid}: a record for a call nobody placed" for sid in facts.records if sid not in truth.fates]
    return missing + strangers


def wrong_outcomes(truth: Truth, facts: Facts) -> list[str]:
    wrong = []
    for sid, fate in truth.fates.items():
        record = facts.records.get(sid)
        if record is None:
            continue
        if fate.fate == "ivr" and record.outcome in QUEUE_OUTCOMES or \
                fate.fate != "ivr" and record.outcome != OUTCOME[fate.fate]:
            wrong.append(f"{sid}: the caller lived '{fate.fate}', the record says {record.outcome!r}")
        elif fate.fate == "answered" and record.agent_id != fate.agent:
            wrong.append(f"{sid}: answered by {fate.agent}, the record names {record.agent_id!r}")
    return wrong


def lost_notes(truth: Truth, facts: Facts, run_id: str) -> list[str]:
    lost = []
    for sid in truth.wrapped:
        record = facts.records.get(sid)
        if record is not None and (record.notes, record.disposition) != (f"run {run_id}", "load-test"):
            lost.append(f"{sid}: wrap-up taken, the record has notes {record.notes!r} and disposition "
                        f"{record.disposition!r}")
    return lost


def unanswered(facts: Facts) -> list[str]:
    if facts.service_gone:
        return ["the service is gone: nothing listens on its port (see its log)"]
    return ["GET /api/stats did not answer"] if facts.stats is None else []


def held(truth: Truth, facts: Facts) -> list[str]:
    """Callers still in a line or being served, agents still held, records still owed to SQL."""
    if facts.stats is None:
        return unanswered(facts)
    problems = [f"queue {name}: {q['waiting']} waiting, {q['callbacks_pending']} callbacks pending"
                for name, q in facts.stats["queues"].items() if q["waiting"] or q["callbacks_pending"]]
    problems += [f"agent {agent}: {row['status']}" for agent, row in facts.stats["agents"].items()
                 if row["status"] in HELD]
    problems += [f"{sid}: the ACD still holds it as {state}" for sid, state in facts.acd_states.items()
                 if state in LIVE]
    if facts.outbox:
        problems.append(f"{facts.outbox} records still in the outbox")
    return problems


def counter_gaps(truth: Truth, facts: Facts, self_service: bool = False) -> list[str]:
    """Today's offered, answered and abandoned against the callers' (and `self_service`, the calls
    that ended in the menu, where every caller heard the menu: no when_down answer blurs the line)."""
    if facts.stats is None:
        return unanswered(facts)
    counted = {k: facts.today.get(k) for k in ("offered", "answered", "abandoned")}
    lived = {"offered": truth.offered, "answered": truth.answered, "abandoned": truth.abandoned}
    if self_service:
        counted["self_service"], lived["self_service"] = facts.stats.get("self_service"), truth.ivr
    return [f"{k}: the service counts {counted[k]}, the callers lived {lived[k]}" for k in lived
            if counted[k] != lived[k]]


def disagreements(truth: Truth, facts: Facts, run_id: str | None, self_service: bool = False) -> list[str]:
    """Everything that disagrees with the truth, each line named by its check."""
    checks = [("record", missing_records), ("outcome", wrong_outcomes), ("held", held),
              ("counter", lambda t, f: counter_gaps(t, f, self_service))]
    if run_id is not None:
        checks.append(("notes", lambda t, f: lost_notes(t, f, run_id)))
    return [f"{name}: {line}" for name, check in checks for line in dict.fromkeys(check(truth, facts))]


def settle(judge, look, *, within_s: float) -> Facts:
    """Look (`look()` -> Facts) every second until `judge(facts)` finds nothing wrong or `within_s`
    pass; the last look. Prints how long the heal took and what was still wrong."""
    started, gone = time.monotonic(), 0
    while True:
        facts = look()
        found = judge(facts)
        gone = gone + 1 if facts.service_gone else 0
        # a service that exited heals nothing: three looks in a row without it are enough
        if not found or gone >= 3 or time.monotonic() - started > within_s:
            print(f"\nsettled after {time.monotonic() - started:.1f} s; {len(found)} disagreements"
                  + "".join(f"\n  {line}" for line in found[:30]))
            return facts
        time.sleep(1)


def figures(truth: Truth, facts: Facts) -> str:
    outcomes: dict[str, int] = {}
    for record in facts.records.values():
        outcomes[record.outcome] = outcomes.get(record.outcome, 0) + 1
    return (f"callers: {len(truth.fates)} placed, {truth.offered} in line, {truth.answered} answered, "
            f"{truth.abandoned} abandoned, {truth.ivr} never queued, {len(truth.wrapped)} wrapped up\n"
            f"service: {len(facts.records)} records {dict(sorted(outcomes.items()))}; today "
            f"{ {k: facts.today.get(k) for k in ('offered', 'answered', 'abandoned')} } self_service "
            f"{(facts.stats or {}).get('self_service')}")


def stories(sim, found: list[str], origin: float, limit: int = 3) -> str:
    """What the first callers named in `found` lived, event by event, in real seconds since `origin`
    (time.monotonic(), e.g. the fault): the evidence to read beside the service's log."""
    per_check: dict[str, list[str]] = {}        # a few of each kind of disagreement
    for line in found:
        if m := re.search(r"\bCA[0-9a-f]{32}\b", line):
            per_check.setdefault(line.split(":")[0], []).append(m.group(0))
    sids = list(dict.fromkeys(sid for named in per_check.values() for sid in named[:limit]))
    lines = []
    for sid in sids:
        call = sim.calls[sid]
        steps = []
        for e in call.transcript:
            detail = e.get("status") or e.get("reason") or e.get("digits") or e.get("url") or e.get("to") or ""
            at = call.created + e["t"] * sim.time_scale - origin
            steps.append(f"{at:+.1f} {e['event']}{' ' + str(detail) if detail else ''}")
        lines.append(f"{sid}: " + " | ".join(steps))
    return "\n".join(lines)


def ghosts(found: list[str]) -> list[str]:
    """The disagreements that leave someone held: a caller still in line or being served, an agent
    still reserved or busy, a record still owed (checked apart from what was lost for good)."""
    return [line for line in found if line.startswith("held:")]


def losses(found: list[str]) -> list[str]:
    """The rest: missing records, wrong outcomes, lost notes, counters that differ from the truth."""
    return [line for line in found if not line.startswith("held:")]
