"""What a load run measured (twiliosim/load.py): each caller's waits from the simulator's
transcripts and the agents' side, the report beside Erlang C, and the progress display."""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import erlang

from .sim import Simulator

if TYPE_CHECKING:
    from .crew import LoadRun


@dataclass
class LoadProgress:
    placed: int
    total: int
    answered: int
    abandoned: int
    waiting: int
    ended: int
    sim_elapsed_s: float


@dataclass
class CallResult:
    index: int
    call_sid: str
    from_number: str
    dialed_at: float                    # simulated seconds since the run started
    talk_plan_s: float                  # the talk time drawn for this call
    patience_s: float | None
    outcome: str = "live"               # answered / abandoned / ivr (never queued) / other / live
    queue_entry: float | None = None    # simulated seconds since the run started
    offered_at: float | None = None
    bridged_at: float | None = None
    unbridged_at: float | None = None
    ended_at: float | None = None
    agent: str | None = None            # the <Client> identity that answered
    wait_s: float | None = None         # queue entry -> bridged (answered) or -> hang-up (abandoned)
    agent_wait_s: float | None = None   # queue entry -> offer
    talk_s: float | None = None
    occupancy_s: float | None = None    # the agent's offer -> wrap-up done
    problems: list[str] = field(default_factory=list)


@dataclass
class LoadReport:
    run_id: str
    agents: int
    time_scale: float
    rate_per_s: float
    handle_s: float
    target_s: float
    placed: int
    offered: int
    answered: int
    abandoned: int
    other: int
    asa_s: float | None
    service_level: float | None         # answered within target / (answered + abandoned)
    longest_wait_s: float | None
    agent_wait_s: float | None          # mean queue entry -> offer (all answered calls)
    agent_service_level: float | None   # share of answered + abandoned whose wait for an agent <= target
    connect_s: float | None             # mean offer -> bridged
    talk_s: float | None
    occupancy_s: float | None           # mean agent time per answered call
    measured_rate_per_s: float | None
    erlang_nominal: erlang.Prediction
    erlang_measured: erlang.Prediction | None
    replay_asa_s: float | None          # measured queue entries and agent times through an ideal FIFO queue
    replay_service_level: float | None
    sample_asa_s: float | None          # dial times and planned talk times through an ideal FIFO queue
    sample_service_level: float | None
    real_seconds: float
    calls: list[CallResult] = field(repr=False, default_factory=list)
    problems: list[str] = field(default_factory=list)
    # The service against the callers, when checked: a twiliosim.truth.Truth (which reads this module's
    # CallResult, hence no import of it here).
    truth: object | None = None

    @property
    def ok(self) -> bool:
        return not self.problems and (self.truth is None or self.truth.ok)

    def as_dict(self, with_calls: bool = False) -> dict:
        out = {k: v for k, v in self.__dict__.items()
               if k not in ("calls", "erlang_nominal", "erlang_measured", "truth")}
        out["erlang_nominal"] = self.erlang_nominal.as_dict()
        out["erlang_measured"] = self.erlang_measured.as_dict() if self.erlang_measured else None
        out["truth"] = self.truth.as_dict() if self.truth is not None else None
        if with_calls:
            out["calls"] = [c.__dict__ for c in self.calls]
        return out

    def table(self) -> str:
        """The figures as a plain-text table (simulated seconds)."""
        def s(x, unit=" s"):
            return "-" if x is None else ("inf" if math.isinf(x) else f"{x:.2f}{unit}")

        def pct(x):
            return "-" if x is None else f"{100 * x:.1f} %"

        en, em = self.erlang_nominal, self.erlang_measured
        rows = [
            ("offered (entered the queue)", f"{self.offered} of {self.placed} placed", "", ""),
            ("answered", str(self.answered), "", ""),
            ("abandoned", str(self.abandoned), "", ""),
        ]
        if self.other:
            rows.append(("other (IVR, overflow, errors)", str(self.other), "", ""))
        rows += [
            ("ASA (queue entry -> bridged)", s(self.asa_s), "", ""),
            (f"service level (bridged <= {self.target_s:g} s)", pct(self.service_level), "", ""),
            ("longest wait", s(self.longest_wait_s), "", ""),
            ("connect time (offer -> bridged)", s(self.connect_s), "", ""),
            ("wait for an agent (-> offer)", s(self.agent_wait_s), s(em.asa_s) if em else "-", s(en.asa_s)),
            (f"  within {self.target_s:g} s", pct(self.agent_service_level),
             pct(em.service_level) if em else "-", pct(en.service_level)),
            ("  P(wait)", "", f"{em.p_wait:.3f}" if em else "-", f"{en.p_wait:.3f}"),
            ("arrival rate", s(self.measured_rate_per_s, "/s"), s(em.arrival_rate_per_s, "/s") if em else "-",
             s(self.rate_per_s, "/s")),
            ("handle time (agent time per call)", s(self.occupancy_s), s(em.aht_s) if em else "-", s(self.handle_s)),
            ("  of which talk", s(self.talk_s), "", ""),
            ("offered load", "", f"{em.offered_erlangs:.2f} E" if em else "-", f"{en.offered_erlangs:.2f} E"),
        ]
        width = max(len(r[0]) for r in rows) + 2
        lines = [f"load run {self.run_id}: {self.agents} agents, {self.placed} calls, time scale {self.time_scale:g}"
                 f" ({self.real_seconds:.0f} s real); times in simulated seconds",
                 f"{'':<{width}}{'measured':>18}{'Erlang C (meas.)':>18}{'Erlang C (nominal)':>20}"]
        lines += [f"{name:<{width}}{a:>18}{b:>18}{c:>20}" for name, a, b, c in rows]
        lines.append("ideal first-come-first-served queue, no routing delay, same calls:")
        if self.sample_asa_s is not None:
            lines.append(f"  as dialled with the drawn talk times (no overheads): wait {s(self.sample_asa_s)}, "
                         f"within {self.target_s:g} s {pct(self.sample_service_level)}")
        if self.replay_asa_s is not None:
            lines.append(f"  as they entered the queue, holding the agent as measured: wait {s(self.replay_asa_s)}, "
                         f"within {self.target_s:g} s {pct(self.replay_service_level)}")
        if self.truth is not None:
            lines += self.truth.lines()
        for problem in self.problems[:20]:
            lines.append(f"problem: {problem}")
        if len(self.problems) > 20:
            lines.append(f"... and {len(self.problems) - 20} more problems")
        return "\n".join(lines)


def _rel(sim: Simulator, t0: float, call, t_in_call: float | None) -> float | None:
    """A transcript time (simulated seconds since the call was created) as seconds since the run began."""
    if t_in_call is None:
        return None
    return (call.created - t0) / sim.time_scale + t_in_call


class Tracker:
    """Reads the callers' transcripts incrementally for the progress display."""

    def __init__(self):
        self.cursor: dict[str, int] = {}
        self.state: dict[str, str] = {}      # ivr / waiting / answered / abandoned / ended

    def update(self, calls: list) -> LoadProgress:
        for call in calls:
            start = self.cursor.get(call.sid, 0)
            entries = call.transcript[start:]
            self.cursor[call.sid] = start + len(entries)
            state = self.state.get(call.sid, "ivr")
            for entry in entries:
                event = entry["event"]
                if event == "input" and state == "ivr":
                    state = "waiting"
                elif event == "bridged":
                    state = "answered"
                elif event == "caller_hangup" and state == "waiting":
                    state = "abandoned"
            if call.ended and state in ("ivr", "waiting"):
                state = "ended"
            self.state[call.sid] = state
        counts = {k: 0 for k in ("ivr", "waiting", "answered", "abandoned", "ended")}
        for state in self.state.values():
            counts[state] += 1
        return LoadProgress(placed=len(calls), total=0, answered=counts["answered"], abandoned=counts["abandoned"],
                            waiting=counts["waiting"], ended=sum(1 for c in calls if c.ended), sim_elapsed_s=0.0)


def analyse(sim: Simulator, run: LoadRun, t0: float, placed: list[tuple[int, object, str, float, float, float | None]]
             ) -> list[CallResult]:
    results = []
    for index, call, from_number, dialed_at, talk, patience in placed:
        r = CallResult(index=index, call_sid=call.sid, from_number=from_number, dialed_at=dialed_at,
                       talk_plan_s=talk, patience_s=patience)
        transcript = list(call.transcript)
        # the menu answer that put the caller in line: keys pressed while holding (* for a callback) come
        # after the simulator's own `enqueue` entry and do not count
        queued = next((i for i, e in enumerate(transcript) if e["event"] == "enqueue"), len(transcript))
        last_input = max((i for i, e in enumerate(transcript[:queued]) if e["event"] == "input"), default=None)
        if last_input is not None and last_input + 1 < len(transcript):
            r.queue_entry = _rel(sim, t0, call, transcript[last_input + 1]["t"])
        first = {}
        for entry in transcript:
            first.setdefault(entry["event"], entry)
        if "bridged" in first:
            r.bridged_at = _rel(sim, t0, call, first["bridged"]["t"])
            r.agent = (first["bridged"].get("to") or "").removeprefix("client:") or None
        if "unbridged" in first:
            r.unbridged_at = _rel(sim, t0, call, first["unbridged"]["t"])
        if call.ended and "ended" in first:
            r.ended_at = _rel(sim, t0, call, first["ended"]["t"])
        marks = run.marks.get(call.sid, {})
        if "offer" in marks:
            r.offered_at = (marks["offer"] - t0) / sim.time_scale
        if "offer" in marks and "wrapped" in marks:
            r.occupancy_s = (marks["wrapped"] - marks["offer"]) / sim.time_scale
        for entry in transcript:
            if entry["event"] in ("webhook_error", "simulator_error") and not entry.get("chaos"):
                r.problems.append(f"{entry['event']}: {entry.get('reason') or entry.get('error')}")
            elif entry["event"] == "late_request" and (entry.get("http") is None or entry["http"] >= 500):
                r.problems.append(f"a {entry['why']} request to {entry['url']}: {entry.get('problem')}")
            elif entry["event"] == "status_callback" and (entry.get("http") or 0) >= 500:
                r.problems.append(f"the {entry['status']} status callback: {entry.get('problem')}")
        if not call.ended:
            r.outcome = "live"
        elif r.bridged_at is not None:
            r.outcome = "answered"
        elif r.queue_entry is None:
            r.outcome = "ivr"
        elif "caller_hangup" in first:
            r.outcome = "abandoned"
        else:
            r.outcome = "other"
        if r.queue_entry is not None:
            if r.outcome == "answered":
                r.wait_s = r.bridged_at - r.queue_entry
            elif r.outcome == "abandoned":
                r.wait_s = _rel(sim, t0, call, first["caller_hangup"]["t"]) - r.queue_entry
            if r.offered_at is not None:
                r.agent_wait_s = max(0.0, r.offered_at - r.queue_entry)
        if r.bridged_at is not None and r.unbridged_at is not None:
            r.talk_s = r.unbridged_at - r.bridged_at
        results.append(r)
    return results


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def build_report(run: LoadRun, results: list[CallResult], *, agents: int, rate_per_s: float, handle_s: float,
            target_s: float, real_seconds: float) -> LoadReport:
    offered = [r for r in results if r.queue_entry is not None]
    answered = [r for r in offered if r.outcome == "answered"]
    abandoned = [r for r in offered if r.outcome == "abandoned"]
    other = [r for r in results if r.outcome in ("other", "ivr", "live")]
    finished = len(answered) + len(abandoned)
    waits = [r.wait_s for r in offered if r.wait_s is not None]
    occupancy = [r.occupancy_s for r in answered if r.occupancy_s is not None]
    entries = sorted(r.queue_entry for r in offered)
    measured_rate = (len(entries) - 1) / (entries[-1] - entries[0]) if len(entries) > 2 and entries[-1] > entries[0] \
        else None
    occupancy_mean = _mean(occupancy)
    measured = None
    if measured_rate and occupancy_mean:
        measured = erlang.predict(agents, measured_rate, occupancy_mean, target_s)
    agent_waits = [r.agent_wait_s for r in answered if r.agent_wait_s is not None]
    # As for the caller's service level, abandoned callers count as not answered in time.
    agent_within = sum(1 for w in agent_waits if w <= target_s)
    replay_asa = replay_sl = None
    if answered and len(occupancy) == len(answered):
        # The answered calls as they entered the queue, each holding its agent as long as it did.
        waits_replayed = erlang.fifo_waits([r.queue_entry for r in answered], [r.occupancy_s for r in answered], agents)
        replay_asa = statistics.fmean(waits_replayed)
        replay_sl = sum(1 for w in waits_replayed if w <= target_s) / len(waits_replayed)
    # The sample itself (arrivals as dialled, talk times as drawn) through the same ideal queue: what a
    # zero-overhead ACD would give for it, and how far this sample sits from Erlang C by chance alone.
    sample = erlang.fifo_waits([r.dialed_at for r in results], [r.talk_plan_s for r in results], agents)
    report = LoadReport(
        run_id=run.run_id, agents=agents, time_scale=run.sim.time_scale, rate_per_s=rate_per_s, handle_s=handle_s,
        target_s=target_s, placed=len(results), offered=len(offered), answered=len(answered),
        abandoned=len(abandoned), other=len(other),
        asa_s=_mean([r.wait_s for r in answered]),
        service_level=(sum(1 for r in answered if r.wait_s <= target_s) / finished) if finished else None,
        longest_wait_s=max(waits) if waits else None,
        agent_wait_s=_mean(agent_waits),
        agent_service_level=agent_within / finished if finished else None,
        connect_s=_mean([r.bridged_at - r.offered_at for r in answered if r.offered_at is not None]),
        talk_s=_mean([r.talk_s for r in answered if r.talk_s is not None]),
        occupancy_s=occupancy_mean, measured_rate_per_s=measured_rate,
        erlang_nominal=erlang.predict(agents, rate_per_s, handle_s, target_s), erlang_measured=measured,
        replay_asa_s=replay_asa, replay_service_level=replay_sl,
        sample_asa_s=statistics.fmean(sample) if sample else None,
        sample_service_level=sum(1 for w in sample if w <= target_s) / len(sample) if sample else None,
        real_seconds=real_seconds,
        calls=results, problems=list(run.problems))
    for r in results:
        for problem in r.problems:
            report.problems.append(f"call {r.index} {r.call_sid}: {problem}")
        if r.outcome == "live":
            report.problems.append(f"call {r.index} {r.call_sid} was still live at the end")
        if r.outcome == "answered" and not (r.agent or "").startswith(f"load-{run.run_id}-"):
            report.problems.append(f"call {r.index} {r.call_sid} was bridged to {r.agent!r}, not a load agent")
    return report


def progress_bar(p: LoadProgress, width: int = 30) -> str:
    """`[#####.....] 250/500 answered 230 abandoned 5 waiting 15`: calls placed of all; the bar fills
    as calls end."""
    done = int(width * p.ended / p.total) if p.total else width
    return (f"[{'#' * done}{'.' * (width - done)}] {p.placed}/{p.total} answered {p.answered} "
            f"abandoned {p.abandoned} waiting {p.waiting}")
