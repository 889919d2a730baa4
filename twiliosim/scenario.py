"""Scripted scenarios: named agents (skills, time zone, weekly schedule, languages) and a timetable
of scripted callers against a running callrouter, with everything each side saw.

    agents = [AgentPlan("es-1", {"billing": 3, "lang_es": 3}, timezone="Europe/Madrid", languages=["en", "es"]),
              AgentPlan("night-1", {"billing": 5}, timezone="Asia/Singapore", schedule={"mon-fri": "09:00-17:00"})]
    calls = [CallPlan(0.0, "+15005550007", "+34912345678", CallerScript(inputs=[Press("1")]), talk_s=20)]
    report = run_scenario(service_url, admin_token, sim, agents, calls)

Where `run_load` measures a homogeneous Poisson stream, a scenario checks routing decisions: agents are
created through the JSON API with their whole profile, open their event streams and set the status of
their plan (available, or break to stay logged in without taking calls). Every offer is accepted at once
and logged (agent, call, time, queue, callback flag); the softphone then talks for the call's `talk_s`
and the agent wraps up when the call ends. Callers dial at their `at_s` (simulated seconds from the
start) with their own script: key presses or speech in the IVR, patience, `*` during hold for a callback.

The report holds, per call, the same `CallResult` as a load run (queue entry, offer, bridge, outcome as
the caller lived it), the service's live statistics at the end, every offer in the order the agents received them, every ring of every agent's
softphone, and the problems seen. It waits until every call, callback legs included, has ended and the
service holds nobody in line.
"""
from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass, field

import requests

from .crew import API_TIMEOUT_S, LoadError, LoadRun, SimAgent
from .load import wrapped_up
from .parties import CallerScript
from .results import CallResult, analyse
from .sim import Simulator

__all__ = ["AgentPlan", "CallPlan", "ScenarioReport", "run_scenario"]


@dataclass
class AgentPlan:
    id: str
    skills: dict[str, int]
    timezone: str = "UTC"
    schedule: dict[str, str] | None = None      # weekly, in the agent's zone; None: always on shift
    languages: list[str] = field(default_factory=list)
    status: str = "available"                   # set after logging in: available or break
    name: str | None = None

    def profile(self) -> dict:
        return {"name": self.name or f"Scenario agent {self.id}", "timezone": self.timezone,
                "schedule": self.schedule, "languages": list(self.languages)}


@dataclass
class CallPlan:
    at_s: float                 # simulated seconds after the scenario starts
    number: str                 # the service's number dialled
    from_number: str
    script: CallerScript
    talk_s: float = 10.0        # how long the agent talks once connected (simulated seconds)
    label: str = ""             # the test's own name for what this caller is meant to do


@dataclass
class ScenarioCall:
    plan: CallPlan
    result: CallResult
    offers: list[dict]          # the offers of this call, in order (agent, at, callback, ...)


@dataclass
class ScenarioReport:
    calls: list[ScenarioCall]
    offers: list[dict]                      # every offer: agent, call_sid, reservation_id, queue, callback, at
    rings: dict[str, list[dict]]            # agent id -> every ring of their softphone
    statuses: dict[str, dict]               # agent id -> the agent as GET /api/agents/<id> showed it at the start
    problems: list[str]
    real_seconds: float
    stats: dict                             # GET /api/stats once everything settled

    def by_label(self, label: str) -> list[ScenarioCall]:
        return [c for c in self.calls if c.plan.label == label]


def run_scenario(service_url: str, admin_token: str, sim: Simulator, agents: list[AgentPlan],
                 calls: list[CallPlan], *, answer_after: float = 0.1, timeout: float = 120.0,
                 run_id: str | None = None) -> ScenarioReport:
    """Play the timetable; `timeout` (real seconds) bounds the wait for the calls to end."""
    run_id = run_id or uuid.uuid4().hex[:6]
    base = service_url.rstrip("/")
    run = LoadRun(base, admin_token, sim, run_id=run_id, handle_s=10.0, wrapup_s=0.0, answer_after=answer_after,
               talk_rng=random.Random(run_id))
    for number in {c.number for c in calls}:
        if number not in sim.numbers:
            sim.number(number, f"{base}/voice/incoming", status_callback=f"{base}/voice/status",
                       fallback_url=f"{base}/voice/fallback")
    started = time.monotonic()
    crew: list[SimAgent] = []
    placed: list[tuple] = []
    plans: dict[str, CallPlan] = {}
    statuses: dict[str, dict] = {}
    try:
        for plan in agents:
            crew.append(SimAgent(run, plan.id, run.create_agent(plan.id, plan.skills, plan.profile())))
        for agent in crew:
            agent.open_stream()
        for agent, plan in zip(crew, agents, strict=False):
            if not agent.connected.wait(API_TIMEOUT_S):
                raise LoadError(f"agent {agent.id}: no status event on the stream")
            code = agent.set_status(plan.status, attempts=20)
            if code != 200:
                raise LoadError(f"agent {agent.id} could not go {plan.status} (HTTP {code})")
            shown = run.admin.get(f"{base}/api/agents/{plan.id}", timeout=API_TIMEOUT_S)
            statuses[plan.id] = shown.json().get("agent", {}) if shown.status_code == 200 else {}

        t0 = time.monotonic()
        for index, plan in enumerate(sorted(calls, key=lambda c: c.at_s)):
            wait = t0 + sim.real(plan.at_s) - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            call = sim.dial(plan.number, plan.from_number, script=plan.script)
            with run.lock:
                run.talk_plan[call.sid] = plan.talk_s
            plans[call.sid] = plan
            placed.append((index, call, plan.from_number, (time.monotonic() - t0) / sim.time_scale, plan.talk_s,
                           plan.script.patience))

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not _settled(run, sim, placed):
            time.sleep(0.1)
        if not _settled(run, sim, placed):
            live = [c for c in sim.calls.values() if not c.ended]
            run.problem(f"not settled {timeout:.0f} s after the last arrival: {len(live)} calls live, "
                        f"{_waiting(run)} callers in line; the first: "
                        f"{[(c.sid, c.to, c.transcript[-6:]) for c in live[:2]]}")
        results = analyse(sim, run, t0, placed)
        try:
            stats = run.admin.get(f"{base}/api/stats", timeout=API_TIMEOUT_S).json()
        except (requests.RequestException, ValueError) as exc:
            stats = {}
            run.problem(f"GET /api/stats failed: {exc}")
        with run.lock:
            offers = [{**o, "at": (o["at"] - t0) / sim.time_scale} for o in run.offer_log]
    finally:
        for _, call, *_ in placed:
            if not call.ended:
                call.hang_up("scenario-timeout")
        run.closing.set()
        rings = {agent.id: list(agent.softphone.rings) for agent in crew}
        for agent in crew:
            if agent.set_status("offline", attempts=25) != 200:
                run.problem(f"agent {agent.id} could not log out")
        for agent in crew:
            agent.close()
            sim.softphones.pop(agent.id, None)
        run.admin.close()
    scenario_calls = [ScenarioCall(plans[r.call_sid], r, [o for o in offers if o["call_sid"] == r.call_sid])
                      for r in results]
    problems = list(run.problems)
    for c in scenario_calls:
        problems.extend(f"call {c.result.index} {c.result.call_sid}: {p}" for p in c.result.problems)
    return ScenarioReport(calls=scenario_calls, offers=offers, rings=rings, statuses=statuses, problems=problems,
                          real_seconds=time.monotonic() - started, stats=stats)


def _waiting(run: LoadRun) -> int | None:
    try:
        stats = run.admin.get(f"{run.base}/api/stats", timeout=API_TIMEOUT_S).json()
    except (requests.RequestException, ValueError):
        return None
    return sum(q.get("waiting", 0) for q in stats.get("queues", {}).values())


def _settled(run: LoadRun, sim: Simulator, placed: list) -> bool:
    """Every caller and every leg (callbacks too) ended, nobody in line, every bridged call wrapped up."""
    if any(not p[1].ended for p in placed) or any(not c.ended for c in list(sim.calls.values())):
        return False
    if _waiting(run) != 0:
        return False
    # a callback request placed its customer's leg; wrap-ups follow the hang-ups closely
    return wrapped_up(run, placed)
