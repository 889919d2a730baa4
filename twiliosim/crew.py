"""The simulated agents of a load run (twiliosim/load.py) and the run's shared state: each agent
is created through the service's JSON API, keeps a softphone in the simulator, reads its event
stream, accepts every offer and wraps up when the call ends."""
from __future__ import annotations

import json
import random
import socket
import threading
import time

import requests

from .sim import Simulator

API_TIMEOUT_S = 10.0
STREAM_READ_TIMEOUT_S = 40.0         # the service sends a keep-alive every 15 s


class LoadError(RuntimeError):
    """The run could not start (service unreachable, agents not created, ...)."""


# -- the agents -----------------------------------------------------------------------------
class SimAgent:
    """One simulated agent: API session, softphone, and a thread reading its event stream."""

    def __init__(self, run: LoadRun, agent_id: str, token: str):
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
            try:
                answer = self.http.post(self.url(f"/api/reservations/{rid}/accept"), timeout=API_TIMEOUT_S)
            except requests.ConnectionError:
                # A keep-alive connection the server closed as we sent (a busy machine): once more, on a
                # new one. Had the first reached the service, this one answers 409 (taken already).
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
            answer = self.http.post(self.url(f"/api/calls/{sid}/wrapup"), json=self.run.wrapup_body(sid),
                                    timeout=API_TIMEOUT_S)
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
class LoadRun:
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

    def wrapup_body(self, sid: str) -> dict:
        return {"disposition": "load-test", "notes": f"run {self.run_id}"}

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
