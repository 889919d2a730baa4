"""After a load run: does the service agree with what the callers lived? (`twiliosim load --check`,
on with `--chaos`.)

The callers' truth is the simulator's: who reached the queue, who talked to which agent and when,
who hung up waiting. Once every call is over at Twilio, and the service has had its time to learn it
(a dropped status callback is learnt only by reconciling with Twilio's list of live calls, every
`RECONCILE_EVERY_S`), the service is read through its own API and compared:

* ghosts: callers still waiting in its queues, or load agents still reserved or busy, although every
  call ended (`GET /api/stats`);
* double bookings: one agent talking to two callers at once, or one caller bridged twice (from the
  simulator's bridges: what people heard, whatever the service believed);
* lost records: a call placed without its one record (`GET /api/calls`), or a record whose outcome,
  agent or wrap-up notes differ from what happened;
* counters: today's offered, answered and abandoned of the queues (the change over the run) against
  the callers' count.

The truth assumes every caller that reached the queue either talked to an agent or left it (the
load's patience below the queue's overflow time); calls the service overflowed are shown apart.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import requests

from .results import CallResult

SETTLE_POLL_S = 0.5
CHECKED = ("offered", "answered", "abandoned")


@dataclass
class Truth:
    ghosts: list[str] = field(default_factory=list)
    double_bookings: list[str] = field(default_factory=list)
    lost_records: list[str] = field(default_factory=list)
    wrong_records: list[str] = field(default_factory=list)
    counters: dict[str, dict[str, int]] = field(default_factory=dict)    # name -> {"service", "callers"}
    overflowed: int = 0
    settled_s: float = 0.0
    chaos: dict | None = None

    @property
    def counters_match(self) -> bool:
        return all(c["service"] == c["callers"] for c in self.counters.values())

    @property
    def ok(self) -> bool:
        return not (self.ghosts or self.double_bookings or self.lost_records or self.wrong_records) \
            and self.counters_match

    def as_dict(self) -> dict:
        return {**self.__dict__, "counters_match": self.counters_match, "ok": self.ok}

    def lines(self) -> list[str]:
        out = [f"the service against the callers' truth (settled after {self.settled_s:.1f} s real):",
               f"  ghosts {len(self.ghosts)}, double bookings {len(self.double_bookings)}, "
               f"lost records {len(self.lost_records)}, wrong records {len(self.wrong_records)}"]
        out += [f"  {name}: service {c['service']}, callers {c['callers']}{'' if c['service'] == c['callers'] else '  <- differs'}"
                for name, c in self.counters.items()]
        if self.overflowed:
            out.append(f"  overflowed by the service (not compared): {self.overflowed}")
        if self.chaos:
            out.append("  chaos: " + ", ".join(f"{k} {v}" for k, v in self.chaos.items()))
        for kind in ("ghosts", "double_bookings", "lost_records", "wrong_records"):
            for item in getattr(self, kind)[:10]:
                out.append(f"  {kind.replace('_', ' ')[:-1]}: {item}")
        return out


def queue_counters(stats: dict) -> dict[str, int]:
    totals = {name: 0 for name in (*CHECKED, "overflowed")}
    for figures in stats.get("queues", {}).values():
        for name in totals:
            totals[name] += int(figures.get("today", {}).get(name, 0))
    return totals


def stats(session: requests.Session, base: str) -> dict:
    answer = session.get(f"{base}/api/stats", timeout=10)
    answer.raise_for_status()
    return answer.json()


def records(session: requests.Session, base: str) -> dict[str, dict]:
    """Every record of yesterday, today and tomorrow (UTC; the service's days may differ), by sid."""
    today = datetime.now(timezone.utc).date()
    query = {"from": (today - timedelta(days=1)).isoformat(), "to": (today + timedelta(days=1)).isoformat(),
             "limit": 1000}
    found: dict[str, dict] = {}
    while True:
        answer = session.get(f"{base}/api/calls", params=query, timeout=30)
        answer.raise_for_status()
        body = answer.json()
        found.update((c["call_sid"], c) for c in body["calls"])
        if not body.get("next"):
            return found
        query["cursor"] = body["next"]


def ghosts(now: dict, agent_ids: list[str]) -> list[str]:
    found = [f"{figures['waiting']} waiting in {name}" for name, figures in now.get("queues", {}).items()
             if figures.get("waiting")]
    agents = now.get("agents", {})
    found += [f"agent {a} still {agents[a]['status']}" for a in agent_ids
              if agents.get(a, {}).get("status") in ("reserved", "busy")]
    return found


def double_bookings(sim, placed: list) -> list[str]:
    """One agent on two callers at once, or one caller bridged twice, from the simulator's bridges."""
    talks: dict[str, list[tuple[float, float, str]]] = {}
    found = []
    for _, call, *_ in placed:
        bridged = [e for e in list(call.transcript) if e["event"] == "bridged"]
        if len(bridged) > 1:
            found.append(f"{call.sid} was bridged {len(bridged)} times")
        for entry in bridged:
            start = call.created + sim.real(entry["t"])
            ends = [e for e in call.transcript if e["event"] == "unbridged" and e["t"] >= entry["t"]]
            end = call.created + sim.real(ends[0]["t"]) if ends else float("inf")
            talks.setdefault(entry.get("to") or "?", []).append((start, end, call.sid))
    for agent, spans in talks.items():
        spans.sort()
        for (_, end, sid), (start, _, other) in zip(spans, spans[1:], strict=False):
            if start < end:
                found.append(f"{agent} talked to {sid} and {other} at once")
    return found


def callers(results: list[CallResult]) -> dict[str, int]:
    offered = [r for r in results if r.queue_entry is not None]
    answered = [r for r in offered if r.outcome == "answered"]
    return {"offered": len(offered), "answered": len(answered), "abandoned": len(offered) - len(answered)}


def compare_records(found: dict[str, dict], results: list[CallResult], run_id: str) -> tuple[list[str], list[str]]:
    lost, wrong = [], []
    for r in results:
        rec = found.get(r.call_sid)
        if rec is None:
            lost.append(f"call {r.index} {r.call_sid} ({r.outcome}) has no record")
            continue
        if r.outcome == "answered":
            agent = (r.agent or "").removeprefix("client:")
            if rec["outcome"] != "answered" or rec["agent_id"] != agent:
                wrong.append(f"{r.call_sid}: answered by {agent}, the record says {rec['outcome']} by {rec['agent_id']}")
            elif rec["notes"] != f"run {run_id}":
                wrong.append(f"{r.call_sid}: the wrap-up notes are {rec['notes']!r}")
        elif r.queue_entry is not None and rec["outcome"] == "answered":
            wrong.append(f"{r.call_sid}: never talked to an agent, the record says answered by {rec['agent_id']}")
    return lost, wrong


def check(base: str, admin: requests.Session, sim, placed: list, results: list[CallResult], *, run_id: str,
          agent_ids: list[str], before: dict, settle_s: float) -> Truth:
    """Wait up to `settle_s` (real) for the service to agree, then say where it does not."""
    started = time.monotonic()
    sim.wait_deliveries(settle_s)
    truth_counts = callers(results)
    truth = Truth()
    while True:
        now = stats(admin, base)
        found = records(admin, base)
        delta = {k: v - before.get(k, 0) for k, v in queue_counters(now).items()}
        truth.ghosts = ghosts(now, agent_ids)
        truth.lost_records, truth.wrong_records = compare_records(found, results, run_id)
        truth.overflowed = delta["overflowed"]
        truth.counters = {name: {"service": delta[name], "callers": truth_counts[name]} for name in CHECKED}
        # an overflowed caller left the queue without an agent: the service counts it apart
        truth.counters["abandoned"]["service"] += truth.overflowed
        if truth.ok or time.monotonic() - started >= settle_s:
            break
        time.sleep(SETTLE_POLL_S)
    truth.double_bookings = double_bookings(sim, placed)
    truth.settled_s = time.monotonic() - started
    truth.chaos = sim.chaos.log.as_dict() if sim.chaos is not None else None
    return truth
