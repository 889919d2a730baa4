"""One simulated call leg: fetches TwiML with signed requests and runs it with
Twilio's semantics, keeping a transcript. Each live call runs in its own thread.

This module keeps the call's state, its requests and its life cycle. The TwiML
itself runs in `document.py` (verbs in `verbs.py`, `dial.py`, `queues.py`),
which the Simulator hands each call as `interpreter`: those modules call back
into SimCall, so SimCall must not import them (that was an import cycle). For
the same reason `sim` is not annotated with the Simulator class: `sim.py`
imports this module.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

from . import twiml
from .outcomes import TERMINAL, CallEnded
from .parties import CallerScript
from .signing import geo, new_sid

# (call, verbs, document URL, context) -> the next action or None: `document.run_document`.
Interpreter = Callable[..., "tuple | None"]

# What `_request` reports instead of a problem: the chaos gave the answer up as too slow (error 11205,
# on to the fallback URL), or the request left after the hang-up and its answer is moot.
TIMED_OUT = "no answer within 15 s (error 11205; chaos)"
SENT_LATE = "sent after the hang-up (chaos)"


class SimCall:
    def __init__(self, sim, from_: str, to: str, direction: str, *, interpreter: Interpreter,
                 script: CallerScript | None = None, parent: "SimCall | None" = None,
                 status_callback: str | None = None, status_events: tuple[str, ...] = ("completed",),
                 fallback_url: str | None = None):
        self.sim = sim
        self.interpreter = interpreter
        self.sid = new_sid("CA")
        self.from_, self.to, self.direction = from_, to, direction
        self.script = script or CallerScript()
        self.parent = parent
        self.status_callback, self.status_events = status_callback, tuple(status_events)
        self.fallback_url = fallback_url
        self.status = "queued"
        self.created = time.monotonic()
        self.answered_at: float | None = None
        self.ended_at: float | None = None
        self.transcript: list[dict] = []
        self.rejected_by_service = False      # a webhook answered 403 (wrong signature)
        self.queue = None                     # the SimQueue the call waits in
        self.bridge = None                    # the Bridge the call talks in
        self.ended_by: str | None = None
        self.talk_for = self.script.talk_for  # how long this party talks once bridged (None: until the other ends)
        self.hold = None                      # the queues.Hold while the call waits in a queue
        self._pending: tuple | None = None    # REST update: ("fetch", url, method) / ("twiml", text)
        self.redirects = 0                     # REST updates so far (see queues._run_hold)
        self._hangup_requested = False
        self._wake = threading.Event()
        self._lock = threading.RLock()
        self._seq = 0
        self._thread: threading.Thread | None = None
        self.session = sim.http_session()     # Twilio keeps cookies per call

    # -- what tests read --------------------------------------------------------
    def log(self, event: str, **fields) -> None:
        entry = {"t": round(self.sim.elapsed(self.created), 3), "event": event, **fields}
        with self._lock:
            self.transcript.append(entry)

    def said(self) -> list[str]:
        return [e["text"] for e in list(self.transcript) if e["event"] == "say"]

    def events(self, name: str) -> list[dict]:
        return [e for e in list(self.transcript) if e["event"] == name]

    @property
    def ended(self) -> bool:
        return self.status in TERMINAL

    def join(self, timeout: float | None = None) -> bool:
        """Wait (real seconds) for the call to end; True if it did. Works before a REST-created
        call is answered too (its thread starts only then)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.ended:
            if self._thread is not None and self._thread.is_alive():
                self._thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
            elif deadline is not None and time.monotonic() >= deadline:
                break
            else:
                time.sleep(0.01)
            if deadline is not None and time.monotonic() >= deadline:
                break
        return self.ended

    # -- control from outside (REST, other legs, the caller) ----------------------------
    def wake(self) -> None:
        self._wake.set()

    def hang_up(self, by: str = "caller") -> None:
        with self._lock:
            if not self._hangup_requested and not self.ended:
                self._hangup_requested = True
                self.ended_by = by
        self.wake()

    def redirect(self, action: tuple) -> None:
        """REST update: interrupt whatever verb runs and go to `action`."""
        with self._lock:
            if self.ended:
                raise CallEnded(self.sid)
            self._pending = action
            self.redirects += 1           # lets a hold tell a REST update from its own Gather action
        self.wake()

    def take_pending(self) -> tuple | None:
        with self._lock:
            action, self._pending = self._pending, None
            return action

    @property
    def hung_up(self) -> bool:
        return self._hangup_requested or self.ended

    # -- waiting -----------------------------------------------------------------
    def wait(self, seconds: float | None, until=None, interruptible: bool = True) -> str:
        """Wait simulated seconds; returns "timeout", "hangup", "interrupt" or "event"."""
        deadline = None if seconds is None else time.monotonic() + self.sim.real(seconds)
        while True:
            self._check_hangup_after()
            if self._hangup_requested:
                return "hangup"
            if interruptible and self._pending is not None:
                return "interrupt"
            if until is not None and until():
                return "event"
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return "timeout"
            self._wake.wait(0.02 if deadline is None else min(0.02, deadline - now))
            self._wake.clear()

    def _check_hangup_after(self) -> None:
        limit = self.script.hangup_after
        if limit is not None and not self._hangup_requested and self.sim.elapsed(self.created) >= limit:
            self.log("caller_hangup", reason="hangup_after")
            self.hang_up("caller")

    # -- requests --------------------------------------------------------------
    def params(self, **extra) -> dict[str, str]:
        # Requests made after a hang-up (the Record/Dial/Enqueue action Twilio still posts) carry
        # CallStatus=completed, not the in-progress the call had until its thread finished.
        status = "completed" if self._hangup_requested and self.status == "in-progress" else self.status
        p = {"CallSid": self.sid, "AccountSid": self.sim.account_sid, "From": self.from_, "To": self.to,
             "Caller": self.from_, "Called": self.to, "CallStatus": status, "ApiVersion": "2010-04-01",
             "Direction": self.direction}
        if self.parent is not None:
            p["ParentCallSid"] = self.parent.sid
        for prefix, number in (("From", self.from_), ("To", self.to), ("Caller", self.from_), ("Called", self.to)):
            p.update(geo(prefix, number))
        p.update({k: str(v) for k, v in extra.items() if v is not None})
        return p

    def fetch(self, url: str, method: str = "POST", allowed: frozenset[str] | None = None, where: str = "",
              **extra) -> tuple[list, str] | None:
        """Fetch and parse a TwiML document; on failure try the fallback URL as Twilio does."""
        response, problem = self._request(url, method, self.params(**extra), allowed)
        if problem is SENT_LATE:
            return None
        # Twilio's error codes: 11205 no connection/response in time, 11200 HTTP retrieval failure,
        # 12300 invalid Content-Type, 12100 document parse failure (all used to be 11200/11205).
        code = "11205" if response is None else "11200"
        if problem is not None and response is not None and 200 <= response.status_code < 300:
            code = "12300"
        if problem is None:
            try:
                verbs = twiml.parse(response.content)
                if allowed is not None:
                    twiml.check_allowed(verbs, allowed, where)
                return verbs, url
            except twiml.TwimlError as exc:
                problem, code = str(exc), "12100"
        self.log("webhook_error", url=url, reason=problem, status=getattr(response, "status_code", None),
                 code=code, **({"chaos": True} if problem is TIMED_OUT else {}))
        if response is not None and response.status_code == 403:
            self.rejected_by_service = True
        if self.fallback_url and url != self.fallback_url and allowed is None:
            return self.fetch(self.fallback_url, "POST", ErrorCode=code, ErrorUrl=url)
        if allowed is None and not self.hung_up:
            # Twilio answers the call to play its error message, so the call ends "completed"
            # (it ended "no-answer" when the first document failed). A failing waitUrl or
            # <Queue url> does not end the call (QueueResult=error, the call goes on), so no
            # message there.
            self.answer()
            self.log("say", text="We are sorry, an application error has occurred. Goodbye.", twilio=True)
        return None

    def status_event(self, event: str, **extra) -> None:
        """Status callback for `event` (initiated, ringing, answered, completed). With chaos it goes
        out on its own, maybe late, maybe twice, maybe never."""
        if not self.status_callback or event not in self.status_events:
            return
        params = self.params(CallbackSource="call-progress-events", SequenceNumber=str(self._seq),
                             Timestamp=time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()), **extra)
        self._seq += 1
        dice = self.sim.chaos
        if dice is None:
            self._send_status(event, params)
            return
        plan = dice.status_plan()
        if plan is None:
            self.log("status_callback", status=event, dropped=True, chaos=True)
            return
        for n, delay in enumerate(plan):
            self.sim.deliver_later(delay, self._send_status, event, params, n > 0)

    def _send_status(self, event: str, params: dict, repeat: bool = False) -> None:
        response, problem = self.sim.webhook(self, self.status_callback, "POST", params, twiml_expected=False)
        self.log("status_callback", status=event, http=getattr(response, "status_code", None), problem=problem,
                 **({"repeat": True} if repeat else {}))
        if response is not None and response.status_code == 403:
            self.rejected_by_service = True

    def _request(self, url: str, method: str, params: dict, allowed) -> tuple:
        """A TwiML request: (response or None, problem or None). With chaos it may leave late (the
        caller meanwhile in silence), be sent twice (the first answer counts), be given up as too
        slow after the service acted on it (TIMED_OUT: the fallback URL next), or, when the call ends
        while it is on its way or it is the action Twilio posts after a hang-up, arrive on its own
        after the hang-up (SENT_LATE)."""
        dice = self.sim.chaos
        if dice is None or url == self.fallback_url:
            return self.sim.webhook(self, url, method, params)
        plan = dice.twiml_plan()
        for delay in plan[1:]:
            self.sim.deliver_later(delay, self._send_ignored, url, method, params, "repeat")
        if self.hung_up or (plan[0] > 0 and self.wait(plan[0], interruptible=False) == "hangup"):
            dice.after_hangup()
            self.sim.deliver_later(0.0, self._send_ignored, url, method, params, "after_hangup")
            return None, SENT_LATE
        if allowed is None and dice.times_out():
            response, _ = self.sim.webhook(self, url, method, params)
            try:
                ignored = [v.tag for v in twiml.parse(response.content)] if response is not None else []
            except twiml.TwimlError:
                ignored = []
            self.log("chaos_timeout", url=url, ignored=ignored)
            return None, TIMED_OUT
        return self.sim.webhook(self, url, method, params)

    def _send_ignored(self, url: str, method: str, params: dict, why: str) -> None:
        response, problem = self.sim.webhook(self, url, method, params)
        self.log("late_request", url=url, why=why, http=getattr(response, "status_code", None), problem=problem)

    # -- life cycle --------------------------------------------------------------
    def start(self, first: tuple) -> "SimCall":
        self._thread = threading.Thread(target=self._run, args=(first,), name=f"call-{self.sid[:10]}", daemon=True)
        self._thread.start()
        return self

    def set_status(self, status: str) -> None:
        self.status = status
        self.log("status", status=status)

    def answer(self) -> None:
        if self.answered_at is None:
            self.answered_at = time.monotonic()
            self.set_status("in-progress")
            self.status_event("answered")

    def _run(self, first: tuple) -> None:
        try:
            self.run_actions(first)
        except Exception as exc:  # noqa: BLE001 - a simulator bug must end the call, visibly
            self.log("simulator_error", error=repr(exc))
        finally:
            self.finish()

    def run_document(self, verbs, base: str | None, ctx: dict | None = None):
        """Run one parsed TwiML document on this call; its next action, or None."""
        return self.interpreter(self, verbs, base, ctx)

    def run_actions(self, action: tuple | None) -> None:
        while action is not None and not self.hung_up:
            if action[0] == "fetch":
                _, url, method, extra = (*action, {})[:4]
                fetched = self.fetch(url, method, **(extra or {}))
                if fetched is None:
                    return
                verbs, base = fetched
            else:
                try:
                    verbs, base = twiml.parse(action[1]), None
                except twiml.TwimlError as exc:
                    self.log("webhook_error", url=None, reason=str(exc), status=None)
                    return
            # Only a first-verb <Reject> keeps Twilio from answering; an empty <Response/> is answered
            # too (it used to leave the call unanswered, ending "no-answer").
            if not verbs or verbs[0].tag != "Reject":
                self.answer()
            action = self.run_document(verbs, base)

    def finish(self, status: str | None = None) -> None:
        with self._lock:
            if self.ended:
                return
            self.ended_at = time.monotonic()
            final = status or ("completed" if self.answered_at else "no-answer" if self.status != "busy" else "busy")
        if self.queue is not None:
            self.queue.remove(self)
        if self.bridge is not None:
            self.bridge.end(self)
        duration = int(round(self.sim.elapsed(self.answered_at, self.ended_at))) if self.answered_at else 0
        self.set_status(final)
        self.log("ended", by=self.ended_by or "twiml", duration=duration)
        self.status_event("completed", CallDuration=str(duration))
        self.sim.call_finished(self)

