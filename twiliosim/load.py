"""Load scenarios: a Poisson stream of callers against a running callrouter, served by
simulated agents through the service's own JSON API, measured and set beside Erlang C.

    sim = Simulator(sid, token, time_scale=0.25)
    with RestServer(sim) as rest:                   # the service runs with TWILIO_API_URL = rest.url
        report = run_load(service_url, admin_token, sim, "+15005550006", rate_per_s=2, calls=500,
                          agents=10, handle_s=4, patience_s=None, progress=print)
    print(report.table())

What happens:

* N agents `load-<run>-<i>` are created with `POST /api/agents` (an existing one is reused: a new
  token from `POST /api/agents/<id>/credentials`, its skills set with `PATCH`). Each gets a softphone
  in the simulator (`<Client>load-<run>-<i>`) and a thread that reads its event stream
  (`GET /api/agents/<id>/events`): every `offer` is accepted at once, and when `ended` arrives the
  agent wraps up (`POST /api/calls/<sid>/wrapup`, after `wrapup_s`, 0 by default). Then they go
  available.
* `calls` callers dial `number` as a Poisson stream of `rate_per_s` arrivals per simulated second,
  each with `CallerScript(inputs=[Press(press)], patience=..., talk_for=None)`: the agent ends the
  talk. Talk times are drawn per call (exponential, mean `handle_s`) and set on the agent's softphone
  when the offer for that call arrives, before accepting.
* It waits (bounded) until every call ended, logs the agents out, closes the streams and reports.

Time: the simulator runs `time_scale` real seconds per simulated second; rates, handle, patience and
every figure in the report are simulated seconds. The service's own timers (offer timeout, automatic
wrap-up end) are real seconds, and each HTTP round trip costs real time, which is `1/time_scale`
times longer in simulated seconds: choose a time_scale where that stays small next to `handle_s`.

How waits are measured (simulated seconds, from the simulator's transcripts and the agents' side):

* queue entry: the service puts the caller in line while answering the menu choice (the same
  request returns "Connecting you to ..." and <Enqueue>), so a caller is in line from the first
  transcript entry after their key press. (The simulator's own `enqueue` entry comes after that
  announcement, and never when an agent took the call during it.)
* wait for an agent: queue entry -> the agent's stream delivered the offer (the ACD picked the agent).
  This is the wait Erlang C models.
* ASA, service level, longest wait: queue entry -> `bridged` (the caller hears the agent): the
  caller's wait, as the service's `answered` counts it. The difference is the connect time
  (offer -> accept -> REST redirect -> <Dial><Client> -> the softphone answers).
* agent occupancy per call: offer received -> wrap-up done, the time the agent could take no other
  call: the service time the queue actually saw (handle plus the connect and hang-up overheads).

Erlang C is given twice: for the nominal load (rate_per_s, handle_s) and for the measured one (the
arrival rate into the queue and the agents' occupancy per call). Besides, `fifo_waits` replays the
very same sample (the measured queue entries and each call's occupancy) through an ideal
first-come-first-served queue with no routing delay: the run's own yardstick, free of the sampling
noise that makes a single run of a thousand calls scatter widely around Erlang C.
"""
from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable

import requests

from .crew import API_TIMEOUT_S, LoadError, LoadRun, SimAgent
from .parties import CallerScript, Press
from .results import CallResult, LoadProgress, LoadReport, Tracker, analyse, build_report, progress_bar
from .sim import Simulator
from .truth import check as check_truth
from .truth import queue_counters, stats

__all__ = ["CallResult", "LoadError", "LoadProgress", "LoadReport", "progress_bar", "run_load"]


def run_load(service_url: str, admin_token: str, sim: Simulator, number: str, *, rate_per_s: float, calls: int,
             agents: int, handle_s: float, patience_s: float | None, press: str = "1",
             skills: dict[str, int] | None = None, seed: int | str = 1, patience_dist: str = "exponential",
             target_s: float = 20.0, wrapup_s: float = 0.0, answer_after: float = 0.1,
             run_id: str | None = None, timeout: float | None = None,
             progress: Callable[[LoadProgress], None] | None = None, progress_every: float = 0.25,
             check: bool = False, settle_s: float | None = None) -> LoadReport:
    """Offer `calls` Poisson callers to the queue behind `press` and serve them with `agents` agents.

    Times are simulated seconds except `timeout` (real seconds to wait for the calls to end; by default
    enough for the arrivals, the IVR, the patience and a margin). `patience_s=None`: callers never give
    up; `patience_dist` "exponential" (mean patience_s) or "fixed". The number must be the service's
    (it is configured in `sim` when it is not yet). Raises LoadError when the run cannot start.

    `check`: once the calls are over, compare the service with the callers' truth (twiliosim/truth.py:
    ghosts, double bookings, lost records, counters) and put it in `report.truth`, waiting up to
    `settle_s` real seconds for the service to agree (default 20 s; 75 s when the simulator drops
    status callbacks, which the service learns by reconciling with Twilio once a minute).
    """
    if rate_per_s <= 0 or calls < 1 or agents < 1 or handle_s <= 0:
        raise ValueError("rate_per_s, calls, agents and handle_s must be positive")
    if patience_dist not in ("exponential", "fixed"):
        raise ValueError("patience_dist is 'exponential' or 'fixed'")
    skills = dict(skills or {"billing": 5})
    run_id = run_id or uuid.uuid4().hex[:6]
    base = service_url.rstrip("/")
    arrivals_rng = random.Random(f"{seed}:arrivals")
    talk_rng = random.Random(f"{seed}:talk")
    patience_rng = random.Random(f"{seed}:patience")
    run = LoadRun(base, admin_token, sim, run_id=run_id, handle_s=handle_s, wrapup_s=wrapup_s,
               answer_after=answer_after, talk_rng=random.Random(f"{seed}:spare"))
    if number not in sim.numbers:
        sim.number(number, f"{base}/voice/incoming", status_callback=f"{base}/voice/status",
                   fallback_url=f"{base}/voice/fallback")
    try:
        health = requests.get(f"{base}/api/health", timeout=API_TIMEOUT_S)
    except requests.RequestException as exc:
        raise LoadError(f"the service at {base} does not answer: {exc}") from None
    if health.status_code != 200:
        raise LoadError(f"the service at {base} is not healthy: {health.status_code} {health.text[:200]}")

    started = time.monotonic()
    crew: list[SimAgent] = []
    placed: list[tuple] = []
    tracker = Tracker()
    truth = None
    try:
        before = queue_counters(stats(run.admin, base)) if check else {}
        for i in range(agents):
            agent_id = f"load-{run_id}-{i}"
            crew.append(SimAgent(run, agent_id, run.create_agent(agent_id, skills)))
        for agent in crew:
            agent.open_stream()
        for agent in crew:
            if not agent.connected.wait(API_TIMEOUT_S):
                raise LoadError(f"agent {agent.id}: no status event on the stream")
            code = agent.set_status("available", attempts=20)
            if code != 200:
                raise LoadError(f"agent {agent.id} could not go available (HTTP {code})")

        # -- the callers: a Poisson stream in simulated time --
        t0 = time.monotonic()
        due = 0.0
        last_progress = 0.0
        base_number = arrivals_rng.randrange(10 ** 6)
        for index in range(calls):
            due += arrivals_rng.expovariate(rate_per_s)
            talk = talk_rng.expovariate(1 / handle_s)
            patience = None if patience_s is None else (
                patience_rng.expovariate(1 / patience_s) if patience_dist == "exponential" else patience_s)
            while True:
                now = time.monotonic()
                if progress is not None and now - last_progress >= progress_every:
                    last_progress = now
                    _progress(progress, tracker, placed, calls, sim, t0)
                wait = t0 + sim.real(due) - now
                if wait <= 0:
                    break
                time.sleep(min(wait, 0.05))
            from_number = f"+1212{(base_number + index) % 10 ** 7:07d}"
            script = CallerScript(inputs=[Press(press)], patience=patience, talk_for=None)
            call = sim.dial(number, from_number, script=script)
            with run.lock:
                run.talk_plan[call.sid] = talk
            placed.append((index, call, from_number, (time.monotonic() - t0) / sim.time_scale, talk, patience))

        # -- wait (bounded) for every call to end --
        if timeout is None:
            tail = 60 + 20 * handle_s + (patience_s * (5 if patience_dist == "exponential" else 1)
                                         if patience_s is not None else 600)
            timeout = sim.real(tail) + 30
        deadline = time.monotonic() + timeout
        while any(not p[1].ended for p in placed) and time.monotonic() < deadline:
            if progress is not None and time.monotonic() - last_progress >= progress_every:
                last_progress = time.monotonic()
                _progress(progress, tracker, placed, calls, sim, t0)
            time.sleep(0.05)
        live = [p[1] for p in placed if not p[1].ended]
        if live:
            run.problem(f"{len(live)} calls were still live {timeout:.0f} s (real) after the last arrival; hung up")
        if progress is not None:
            _progress(progress, tracker, placed, calls, sim, t0)
        # The agents' wrap-ups follow the hang-ups closely: let the last ones land before logging out.
        settle = time.monotonic() + 5
        while time.monotonic() < settle and not wrapped_up(run, placed):
            time.sleep(0.05)
        results = analyse(sim, run, t0, placed)
        if check:
            if settle_s is None:
                settle_s = 75.0 if sim.chaos is not None and sim.chaos.chaos.drop > 0 else 20.0
            truth = check_truth(base, run.admin, sim, placed, results, run_id=run_id,
                                agent_ids=[agent.id for agent in crew], before=before, settle_s=settle_s)
    finally:
        for _, call, *_ in placed:
            if not call.ended:
                call.hang_up("load-timeout")
        run.closing.set()
        for agent in crew:
            # 409 while an offer is still out or the last talk's end is still on its way: a real agent
            # tries again; up to an offer's timeout and a little more
            code = agent.set_status("offline", attempts=100)
            if code != 200:
                run.problem(f"agent {agent.id} could not log out (HTTP {code})")
        for agent in crew:
            agent.close()
            sim.softphones.pop(agent.id, None)
        run.admin.close()
    report = build_report(run, results, agents=agents, rate_per_s=rate_per_s, handle_s=handle_s, target_s=target_s,
                          real_seconds=time.monotonic() - started)
    report.truth = truth
    return report


def wrapped_up(run: LoadRun, placed: list) -> bool:
    """Has every agent who talked to one of our callers wrapped that call up?"""
    with run.lock:
        marks = dict(run.marks)
    for _, call, *_ in placed:
        if any(e["event"] == "bridged" for e in call.transcript) and "wrapped" not in marks.get(call.sid, {}):
            return False
    return True


def _progress(progress, tracker: Tracker, placed: list, total: int, sim: Simulator, t0: float) -> None:
    snapshot = tracker.update([p[1] for p in placed])
    snapshot.total = total
    snapshot.sim_elapsed_s = (time.monotonic() - t0) / sim.time_scale
    try:
        progress(snapshot)
    except Exception:  # noqa: BLE001 - a display must not stop the run
        pass
