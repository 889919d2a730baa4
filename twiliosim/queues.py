"""Queues: <Enqueue> with its waitUrl loop, <Leave>, and dequeuing (by <Dial><Queue>
or the REST API), with Twilio's QueueResult values.

The hold documents (waitUrl, <Queue url>) run through `call.run_document`, the
interpreter the Simulator hands every call, because `document.py` (the verb
table) imports this module and must not be imported back.
"""
from __future__ import annotations

import threading
import time
import xml.etree.ElementTree as ET

from . import twiml
from .outcomes import END, LEAVE
from .parties import Press
from .signing import new_sid


class SimQueue:
    def __init__(self, name: str, max_size: int = 1000):
        self.sid = new_sid("QU")
        self.name = name
        self.max_size = max_size
        self.members: list = []          # SimCall, front first
        self.entered: dict[str, float] = {}
        self.waits: list[float] = []      # finished waits, for AvgQueueTime
        self.created = time.time()
        self.lock = threading.RLock()

    def add(self, call) -> int | None:
        with self.lock:
            if len(self.members) >= self.max_size:
                return None
            self.members.append(call)
            self.entered[call.sid] = time.monotonic()
            call.queue = self
            return len(self.members)

    def remove(self, call) -> bool:
        with self.lock:
            if call not in self.members:
                return False
            self.members.remove(call)
            self.waits.append(time.monotonic() - self.entered.pop(call.sid, time.monotonic()))
            call.queue = None
            return True

    def position(self, call) -> int:
        with self.lock:
            return self.members.index(call) + 1 if call in self.members else 0

    def wait_of(self, call, sim) -> int:
        with self.lock:
            entered = self.entered.get(call.sid)
        return int(sim.elapsed(entered)) if entered else 0

    def average_wait(self, sim) -> int:
        with self.lock:
            waits = self.waits[-100:]
        return int(sum(waits) / len(waits) / sim.time_scale) if waits else 0

    def pick(self, call_sid: str | None):
        """The member to dequeue: the front, or the named call."""
        with self.lock:
            if call_sid in (None, "Front"):
                return self.members[0] if self.members else None
            return next((m for m in self.members if m.sid == call_sid), None)


class Hold:
    """A caller's stay in a queue: patience, keys pressed, how it ends."""

    def __init__(self, call, queue: SimQueue):
        self.call = call
        self.queue = queue
        self.started = time.monotonic()
        self.result: str | None = None     # bridged / leave / hangup / redirected
        self.dequeued = threading.Event()
        self.bridge = None
        self.queue_url = None             # <Queue url>: played to this caller before the bridge
        self.queue_method = "POST"
        self.redirect_to = None

    def waited(self) -> float:
        return self.call.sim.elapsed(self.started)

    def should_stop(self) -> bool:
        patience = self.call.script.patience
        if patience is not None and self.waited() >= patience and not self.dequeued.is_set():
            self.call.log("caller_hangup", reason="patience", waited=round(self.waited(), 2))
            self.call.hang_up("caller")
        return self.dequeued.is_set()

    def key_within(self, seconds: float):
        """The hold key the caller presses within `seconds` (a Gather in the waitUrl), if any."""
        due = self.call.script.hold_key(self.waited())
        if due is None or due[0] > seconds:
            return None
        if self.call.wait(due[0], until=self.should_stop) != "timeout":
            return None
        self.call.script.used_hold_key()
        return Press(due[1], after=0)


def enqueue(call, el, base, ctx):
    name = (el.text or "").strip()
    queue = call.sim.queue_named(name, create=True)
    action = twiml.resolve(base, el.get("action")) if el.get("action") else None
    method = el.get("method", "POST").upper()
    wait_url = twiml.resolve(base, el.get("waitUrl")) if el.get("waitUrl") else None
    wait_method = el.get("waitUrlMethod", "POST").upper()
    hold = Hold(call, queue)
    call.hold = hold
    position = queue.add(call)
    if position is None:
        call.log("enqueue", queue=name, result="queue-full")
        return _after(call, hold, action, method, "queue-full")
    call.log("enqueue", queue=name, queue_sid=queue.sid, position=position)
    if call._pending is not None:
        # A REST update that came after the document was fetched and before the caller was in the
        # queue: Twilio applies it at once, the caller never holds.
        hold.result, hold.redirect_to = "redirected", call.take_pending()
    while hold.result is None:
        if call.hung_up:
            hold.result = "hangup"
            break
        if wait_url:
            fetched = call.fetch(wait_url, wait_method, allowed=twiml.HOLD_VERBS, where="a waitUrl",
                                 QueuePosition=queue.position(call), QueueSid=queue.sid,
                                 QueueTime=queue.wait_of(call, call.sim), AvgQueueTime=queue.average_wait(call.sim),
                                 CurrentQueueSize=len(queue.members), MaxQueueSize=queue.max_size)
            if fetched is None:
                hold.result = "error"
                break
            verbs, hold_base = fetched
        else:
            verbs, hold_base = [ET.fromstring("<Play>http://com.twilio.sounds.music/classical.mp3</Play>")], None
        started = time.monotonic()
        outcome = _run_hold(call, hold, verbs, hold_base)
        if outcome is not None:
            hold.result = outcome
        elif time.monotonic() - started < call.sim.real(0.2):
            call.wait(1.0, until=hold.should_stop)     # an empty hold document: do not spin
    queue.remove(call)
    call.log("dequeue", queue=name, result=hold.result, waited=round(hold.waited(), 2))
    if hold.result == "bridged":
        if hold.queue_url:
            fetched = call.fetch(hold.queue_url, hold.queue_method, allowed=twiml.QUEUE_URL_VERBS,
                                 where="a <Queue> url", QueueSid=queue.sid, QueueTime=str(int(hold.waited())),
                                 DequeingCallSid=hold.bridge.other(call).sid)
            # <Redirect> is allowed in that document: follow it (its result used to be dropped).
            for _ in range(10):
                result = call.run_document(*fetched) if fetched else None
                if not (result and result[0] == "fetch") or call.hung_up:
                    break
                fetched = call.fetch(result[1], result[2], allowed=twiml.QUEUE_URL_VERBS, where="a <Queue> url")
        hold.bridge.connect()
        hold.bridge.talk(call)
    return _after(call, hold, action, method, hold.result)


def _run_hold(call, hold: Hold, verbs, base) -> str | None:
    """One pass of the waitUrl document; the hold result if it ended the stay."""
    ctx = {"hold": hold, "until": hold.should_stop}
    while True:
        redirects = call.redirects
        result = call.run_document(verbs, base, ctx)
        if call.redirects != redirects and not hold.dequeued.is_set():
            # A REST update that raced the queue's own bookkeeping (it came before the caller was
            # a member): whatever verb it interrupted, its TwiML is what runs next.
            hold.redirect_to = call.take_pending() or result
            return "redirected"
        if hold.dequeued.is_set():
            if hold.bridge is not None:
                return "bridged"
            # Dequeued or redirected through REST: the new TwiML is the pending action, set before
            # the flag (Simulator.update_call/dequeue); a verb's wait may already have taken it.
            hold.redirect_to = call.take_pending() or result
            return "redirected"
        if call.hung_up:
            return "hangup"
        if result is None:
            return None                   # ran out: fetch the waitUrl again
        if result == LEAVE:
            return "leave"
        if result[0] == "fetch" and call._pending is None and not hold.dequeued.is_set():
            # A Redirect or a Gather action inside the waitUrl: more hold TwiML.
            fetched = call.fetch(result[1], result[2], allowed=twiml.HOLD_VERBS, where="a waitUrl",
                                 **(result[3] if len(result) > 3 else {}))
            if fetched is None:
                return "error"
            verbs, base = fetched
            continue
        hold.redirect_to = result         # a REST update that raced the dequeue flag
        return "redirected"


def leave(call, el, base, ctx):
    if not ctx.get("hold"):
        call.log("webhook_error", url=base, reason="<Leave> outside a waitUrl", status=None)
        return None
    call.log("leave")
    return LEAVE


def _after(call, hold: Hold, action, method, result: str):
    """Post the Enqueue action with QueueResult; its TwiML continues the call where it can."""
    params = {"QueueResult": result, "QueueSid": hold.queue.sid, "QueueTime": str(int(hold.waited()))}
    if result in ("hangup", "redirected") or call.hung_up:
        if action:
            call.fetch(action, method, **params)       # Twilio tells; the reply is moot
        return hold.redirect_to if result == "redirected" else END
    if action:
        return ("fetch", action, method, params)
    return None                                     # no action: go on after <Enqueue>
