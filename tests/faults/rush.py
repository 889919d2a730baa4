"""A rush with a fault in the middle: twiliosim's load run (Poisson callers, agents answering through
the service's JSON API) on a thread, and the fault injected once half the callers have dialled, so
callers are in the IVR, in line and talking when it strikes. `play` runs one whole scenario: the
service, the rush, the heal, and the comparison with the callers' truth."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tests.faults import verdict
from tests.faults.conftest import ADMIN, NUMBER, served
from twiliosim.load import LoadReport, run_load

# The rush of every scenario: 80 callers at 1.5 a (simulated) second for 6 agents who talk 4 s on
# average (6 Erlangs offered: the line builds up), some giving up after 30 s on average. At a time
# scale of 0.25 the arrivals take about 15 s (real), and each caller spends about 6 s in the IVR first.
LOAD = {"calls": 80, "rate_per_s": 1.5, "agents": 6, "handle_s": 4.0, "patience_s": 30.0}


@dataclass
class Rush:
    report: LoadReport
    fault_at_s: float          # real seconds after the run began
    fault_s: float             # how long injecting it took (the outage, for the faults that wait)
    fault_clock: float         # time.monotonic() when it began


def rush_with_fault(url: str, sim, fault: Callable[[], None], *, calls: int, run_id: str, **load) -> Rush:
    """run_load(**load) with `calls` callers; `fault()` runs (on this thread) once calls // 2 have
    dialled, while the load goes on. The load's own report, however the fault went."""
    half = threading.Event()
    outcome: dict = {}

    def progress(p) -> None:
        if p.placed >= calls // 2:
            half.set()

    def load_run() -> None:
        try:
            outcome["report"] = run_load(url, ADMIN, sim, NUMBER, calls=calls, run_id=run_id, progress=progress,
                                         **load)
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread below
            outcome["error"] = exc

    started = time.monotonic()
    thread = threading.Thread(target=load_run, name=f"rush-{run_id}", daemon=True)
    thread.start()
    fault_at = fault_s = fault_clock = -1.0
    try:
        while not half.wait(0.1):
            if not thread.is_alive():
                break
        if half.is_set():
            fault_clock = time.monotonic()
            fault_at = fault_clock - started
            fault()
            fault_s = time.monotonic() - fault_clock
    finally:
        thread.join()
    if "error" in outcome:
        raise outcome["error"]
    report = outcome["report"]
    print(f"\n{report.table()}\nfault at {fault_at:.1f} s (real), lasting {fault_s:.1f} s")
    return Rush(report, fault_at, fault_s, fault_clock)


def play(tmp: Path, sim, redis_url: str, fault: Callable[[], None], *, run_id: str, heal_s: float,
         database_url: str | None = None, seed: int = 11) -> list[str]:
    """One scenario: the service, the rush with `fault` in its middle, then up to `heal_s` for the
    service to agree with the callers' truth. What still disagrees (empty: nothing lost)."""
    with served(tmp, sim, redis_url, database_url) as (url, database_url, log):
        rush = rush_with_fault(url, sim, fault, run_id=run_id, seed=seed, **LOAD)
        truth = verdict.truth_of_load(sim, rush.report)
        facts = verdict.settle(lambda f: verdict.disagreements(truth, f, run_id),
                               lambda: verdict.gather(url, ADMIN, redis_url, database_url, list(truth.fates)),
                               within_s=heal_s)
        found = verdict.disagreements(truth, facts, run_id)
        verdict.MEASURED.append(f"{run_id}: fault at {rush.fault_at_s:.1f} s for {rush.fault_s:.1f} s; "
                                f"{len(found)} disagreements\n{verdict.figures(truth, facts)}")
        print(verdict.MEASURED[-1])
        if found:
            print(f"the service's log: {log}\n" + verdict.stories(sim, found, rush.fault_clock))
        return found
