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

import json
import math
import random
import socket
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

from acd import erlang
from .parties import CallerScript, Press
from .sim import Simulator

__all__ = ["CallResult", "LoadError", "LoadProgress", "LoadReport", "run_load"]

API_TIMEOUT_S = 10.0
STREAM_READ_TIMEOUT_S = 40.0         # the service sends a keep-alive every 15 s


class LoadError(RuntimeError):
    """The run could not start (service unreachable, agents not created, ...)."""


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

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self, with_calls: bool = False) -> dict:
        out = {k: v for k, v in self.__dict__.items() if k not in ("calls", "erlang_nominal", "erlang_measured")}
        out["erlang_nominal"] = self.erlang_nominal.as_dict()
        out["erlang_measured"] = self.erlang_measured.as_dict() if self.erlang_measured else None
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
        for problem in self.problems[:20]:
            lines.append(f"problem: {problem}")
        if len(self.problems) > 20:
            lines.append(f"... and {len(self.problems) - 20} more problems")
        return "\n".join(lines)


# -- the agents -----------------------------------------------------------------------------
class _Agent:
    """One simulated agent: API session, softphone, and a thread reading its event stream."""

    def __init__(self, run: _Run, agent_id: str, token: str):
        self.run = run
        self.id = agent_id
        self.token = token
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.softphone = run.sim.softphone(agent_id, answer_after=run.answer_after, talk_for=run.handle_s)
        self.status: str | None = None
        self.response: requests.Response | None = None
        self.thread: threading.Thread | None = None
        self.connected = threading.Event()
        self.offers: dict[str, float] = {}          # call sid -> monotonic time the offer arrived
        self.lock = threading.Lock()

    def url(self, path: str) -> str:
        return f"{self.run.base}{path}"

    def open_stream(self) -> None:
        self.response = self.http.get(self.url(f"/api/agents/{self.id}/events"), stream=True,
                                      timeout=(API_TIMEOUT_S, STREAM_READ_TIMEOUT_S))
        if self.response.status_code != 200:
            raise LoadError(f"agent {self.id}: event stream answered {self.response.status_code}: "
                            f"{self.response.text[:200]}")
        self.thread = threading.Thread(target=self._read, name=f"load-agent-{self.id}", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        kind = None
        try:
            for line in self.response.iter_lines(decode_unicode=True):
                if self.run.closing.is_set():
                    break
                if line.startswith("event: "):
                    kind = line[7:].strip()
                elif line.startswith("data: ") and kind:
                    try:
                        data = json.loads(line[6:])
                    except ValueError:
                        self.run.problem(f"agent {self.id}: unreadable {kind} event")
                        continue
                    self._handle(kind, data)
                    kind = None
        except Exception as exc:  # noqa: BLE001 - a stream closed under us, or the service went away
            if not self.run.closing.is_set():
                self.run.problem(f"agent {self.id}: event stream ended: {type(exc).__name__}: {exc}")
        finally:
            self.connected.set()

    def _handle(self, kind: str, data: dict) -> None:
        if kind == "status":
            self.status = data.get("status")
            self.connected.set()
        elif kind == "offer":
            self._accept(data)
        elif kind == "ended":
            self._wrap_up(data.get("call_sid") or "")

    def _accept(self, offer: dict) -> None:
        sid, rid = offer.get("call_sid") or "", offer.get("reservation_id") or ""
        now = time.monotonic()
        with self.lock:
            self.offers[sid] = now
        self.run.note(sid, "offer", now, agent=self.id)
        with self.run.lock:
            self.run.offer_log.append({"agent": self.id, "call_sid": sid, "reservation_id": rid, "at": now,
                                       "queue": offer.get("queue"), "callback": bool(offer.get("callback"))})
        # The agent handles one call at a time: the next offer comes only after this one's wrap-up,
        # so setting the softphone's talk time here is what the <Client> leg will use.
        self.softphone.talk_for = self.run.talk_for(sid)
        try:
            answer = self.http.post(self.url(f"/api/reservations/{rid}/accept"), timeout=API_TIMEOUT_S)
        except requests.RequestException as exc:
            self.run.problem(f"agent {self.id}: accept {rid} failed: {type(exc).__name__}")
            return
        if answer.status_code != 200:
            # 409 when the caller hung up in between: the service frees the agent by itself.
            self.run.note(sid, "accept_refused", time.monotonic(), status=answer.status_code)
            if answer.status_code != 409:
                self.run.problem(f"agent {self.id}: accept {rid} answered {answer.status_code}: {answer.text[:200]}")

    def _wrap_up(self, sid: str) -> None:
        if self.run.wrapup_s > 0:
            self.run.closing.wait(self.run.sim.real(self.run.wrapup_s))
        try:
            answer = self.http.post(self.url(f"/api/calls/{sid}/wrapup"), json={
                "disposition": "load-test", "notes": f"run {self.run.run_id}"}, timeout=API_TIMEOUT_S)
        except requests.RequestException as exc:
            self.run.problem(f"agent {self.id}: wrap-up of {sid} failed: {type(exc).__name__}")
            return
        if answer.status_code != 200:
            self.run.problem(f"agent {self.id}: wrap-up of {sid} answered {answer.status_code}: {answer.text[:200]}")
            return
        self.run.note(sid, "wrapped", time.monotonic(), agent=self.id)

    def set_status(self, status: str, attempts: int = 1, pause: float = 0.2) -> int:
        """POST the status; retried while the agent is reserved or busy (409) or the request failed."""
        code = 0
        for attempt in range(attempts):
            try:
                code = self.http.post(self.url(f"/api/agents/{self.id}/status"), json={"status": status},
                                      timeout=API_TIMEOUT_S).status_code
            except requests.RequestException:
                code = 0
            if code not in (0, 409):
                return code
            if attempt + 1 < attempts:
                time.sleep(pause)
        return code

    def close(self) -> None:
        response = self.response
        if response is None:
            return
        # Closing the response does not always wake a thread blocked reading it: shut the socket.
        try:
            sock = getattr(getattr(response.raw, "_connection", None), "sock", None)
            if sock is None:
                sock = response.raw._fp.fp.raw._sock      # http.client's socket, where urllib3 hides it
            sock.shutdown(socket.SHUT_RDWR)
        except Exception:  # noqa: BLE001 - best effort: already closed, or another urllib3 layout
            pass
        try:
            response.close()
        except Exception:  # noqa: BLE001
            pass
        if self.thread is not None:
            self.thread.join(5)
        self.http.close()


# -- the run -------------------------------------------------------------------------------------
class _Run:
    def __init__(self, base: str, admin_token: str, sim: Simulator, *, run_id: str, handle_s: float,
                 wrapup_s: float, answer_after: float, talk_rng: random.Random):
        self.base = base.rstrip("/")
        self.admin = requests.Session()
        self.admin.headers["Authorization"] = f"Bearer {admin_token}"
        self.sim = sim
        self.run_id = run_id
        self.handle_s = handle_s
        self.wrapup_s = wrapup_s
        self.answer_after = answer_after
        self.talk_rng = talk_rng
        self.closing = threading.Event()
        self.lock = threading.Lock()
        self.talk_plan: dict[str, float] = {}
        self.marks: dict[str, dict[str, float]] = {}     # call sid -> event -> monotonic time
        self.offer_log: list[dict] = []                  # every offer any agent received, in order
        self.problems: list[str] = []

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)

    def note(self, sid: str, what: str, at: float, **_info) -> None:
        with self.lock:
            self.marks.setdefault(sid, {}).setdefault(what, at)

    def talk_for(self, sid: str) -> float:
        with self.lock:
            planned = self.talk_plan.get(sid)
            if planned is None:      # a call this run did not place (another user of the queue)
                planned = self.talk_rng.expovariate(1 / self.handle_s)
                self.problem(f"an offer for {sid}, a call this run did not place")
            return planned

    # -- agents through the API --
    def create_agent(self, agent_id: str, skills: dict[str, int], profile: dict | None = None) -> str:
        """Create the agent (or take over an existing one): its token. `profile` adds or overrides
        name, timezone, schedule and languages."""
        body = {"id": agent_id, "name": f"Load agent {agent_id}", "skills": skills, "timezone": "UTC",
                **(profile or {})}
        answer = self.admin.post(f"{self.base}/api/agents", json=body, timeout=API_TIMEOUT_S)
        if answer.status_code == 201:
            return answer.json()["token"]
        if answer.status_code != 409:
            raise LoadError(f"POST /api/agents for {agent_id} answered {answer.status_code}: {answer.text[:300]}")
        # It exists (an earlier run with the same id): a new token, and this run's skills.
        patch = {"skills": skills, "schedule": None, **{k: v for k, v in body.items() if k not in ("id", "name")}}
        patched = self.admin.patch(f"{self.base}/api/agents/{agent_id}", json=patch, timeout=API_TIMEOUT_S)
        if patched.status_code != 200:
            raise LoadError(f"PATCH /api/agents/{agent_id} answered {patched.status_code}: {patched.text[:300]}")
        answer = self.admin.post(f"{self.base}/api/agents/{agent_id}/credentials", timeout=API_TIMEOUT_S)
        if answer.status_code not in (200, 201):
            raise LoadError(f"POST /api/agents/{agent_id}/credentials answered {answer.status_code}: "
                            f"{answer.text[:300]}")
        return answer.json()["token"]


def _rel(sim: Simulator, t0: float, call, t_in_call: float | None) -> float | None:
    """A transcript time (simulated seconds since the call was created) as seconds since the run began."""
    if t_in_call is None:
        return None
    return (call.created - t0) / sim.time_scale + t_in_call


class _Tracker:
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


def _analyse(sim: Simulator, run: _Run, t0: float, placed: list[tuple[int, object, str, float, float, float | None]]
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
            if entry["event"] in ("webhook_error", "simulator_error"):
                r.problems.append(f"{entry['event']}: {entry.get('reason') or entry.get('error')}")
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


def _report(run: _Run, results: list[CallResult], *, agents: int, rate_per_s: float, handle_s: float,
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


def run_load(service_url: str, admin_token: str, sim: Simulator, number: str, *, rate_per_s: float, calls: int,
             agents: int, handle_s: float, patience_s: float | None, press: str = "1",
             skills: dict[str, int] | None = None, seed: int | str = 1, patience_dist: str = "exponential",
             target_s: float = 20.0, wrapup_s: float = 0.0, answer_after: float = 0.1,
             run_id: str | None = None, timeout: float | None = None,
             progress: Callable[[LoadProgress], None] | None = None, progress_every: float = 0.25) -> LoadReport:
    """Offer `calls` Poisson callers to the queue behind `press` and serve them with `agents` agents.

    Times are simulated seconds except `timeout` (real seconds to wait for the calls to end; by default
    enough for the arrivals, the IVR, the patience and a margin). `patience_s=None`: callers never give
    up; `patience_dist` "exponential" (mean patience_s) or "fixed". The number must be the service's
    (it is configured in `sim` when it is not yet). Raises LoadError when the run cannot start.
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
    run = _Run(base, admin_token, sim, run_id=run_id, handle_s=handle_s, wrapup_s=wrapup_s,
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
    crew: list[_Agent] = []
    placed: list[tuple] = []
    tracker = _Tracker()
    try:
        for i in range(agents):
            agent_id = f"load-{run_id}-{i}"
            crew.append(_Agent(run, agent_id, run.create_agent(agent_id, skills)))
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
        while time.monotonic() < settle and not _wrapped_up(run, placed):
            time.sleep(0.05)
        results = _analyse(sim, run, t0, placed)
    finally:
        for _, call, *_ in placed:
            if not call.ended:
                call.hang_up("load-timeout")
        run.closing.set()
        for agent in crew:
            code = agent.set_status("offline", attempts=25)
            if code != 200:
                run.problem(f"agent {agent.id} could not log out (HTTP {code})")
        for agent in crew:
            agent.close()
            sim.softphones.pop(agent.id, None)
        run.admin.close()
    return _report(run, results, agents=agents, rate_per_s=rate_per_s, handle_s=handle_s, target_s=target_s,
                   real_seconds=time.monotonic() - started)


def _wrapped_up(run: _Run, placed: list) -> bool:
    """Has every agent who talked to one of our callers wrapped that call up?"""
    with run.lock:
        marks = dict(run.marks)
    for _, call, *_ in placed:
        if any(e["event"] == "bridged" for e in call.transcript) and "wrapped" not in marks.get(call.sid, {}):
            return False
    return True


def _progress(progress, tracker: _Tracker, placed: list, total: int, sim: Simulator, t0: float) -> None:
    snapshot = tracker.update([p[1] for p in placed])
    snapshot.total = total
    snapshot.sim_elapsed_s = (time.monotonic() - t0) / sim.time_scale
    try:
        progress(snapshot)
    except Exception:  # noqa: BLE001 - a display must not stop the run
        pass


def progress_bar(p: LoadProgress, width: int = 30) -> str:
    """`[#####.....] 250/500 answered 230 abandoned 5 waiting 15`: calls placed of all; the bar fills
    as calls end."""
    done = int(width * p.ended / p.total) if p.total else width
    return (f"[{'#' * done}{'.' * (width - done)}] {p.placed}/{p.total} answered {p.answered} "
            f"abandoned {p.abandoned} waiting {p.waiting}")
