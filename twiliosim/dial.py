"""<Dial> with Number, Client, Queue and Conference nouns, and the bridge that joins two legs
(a <Conference> is a room of its own: `conference_noun.dial_conference`).

Child legs of a Dial (a softphone, a phone) run no TwiML of their own here;
the parent's thread rings them, bridges the first to answer and ends the
others, and a timer ends the bridge when the answering party hangs up.
"""
from __future__ import annotations

import threading
import time

from . import twiml
from .conference_noun import dial_conference
from .outcomes import dial_ended

SUPPORTED_NOUNS = ("Number", "Client", "Queue", "Conference")


class Bridge:
    def __init__(self, sim, a, b):
        self.sim = sim
        self.parties = (a, b)
        self.connected = threading.Event()
        self.ended = threading.Event()
        self.started: float | None = None
        self.ended_at: float | None = None
        self.ended_by = None
        a.bridge = b.bridge = self

    def other(self, call):
        return self.parties[1] if call is self.parties[0] else self.parties[0]

    def connect(self) -> None:
        if not self.connected.is_set():
            self.started = time.monotonic()
            self.connected.set()
            for party in self.parties:
                party.log("bridged", with_call=self.other(party).sid, to=self.other(party).to)

    def end(self, by) -> None:
        if self.ended.is_set():
            return
        self.ended_by = by
        self.ended_at = time.monotonic()
        self.ended.set()
        for party in self.parties:
            party.log("unbridged", ended_by=by.sid if by is not None else None)
            party.wake()

    def duration(self) -> int:
        if self.started is None:
            return 0
        return int(round(self.sim.elapsed(self.started, self.ended_at or time.monotonic())))

    def talk(self, call) -> str:
        """`call` talks until the bridge ends, its own talk time runs out or it hangs up."""
        if call.wait(None, until=lambda: self.connected.is_set() or self.ended.is_set()) == "hangup":
            self.end(call)
        outcome = call.wait(call.talk_for, until=self.ended.is_set)
        if outcome == "timeout":
            call.log("caller_hangup", reason="talk_for")
            call.hang_up("caller")
        if outcome != "event":
            self.end(call)
        call.bridge = None
        return outcome


def _targets(el):
    nouns = [child for child in el if child.tag in SUPPORTED_NOUNS or child.tag in ("Conference", "Sip")]
    if not nouns and (el.text or "").strip():
        return [("Number", el.text.strip(), el)]
    return [(n.tag, (n.text or "").strip(), n) for n in nouns]


def dial(call, el, base, ctx):
    action = twiml.resolve(base, el.get("action")) if el.get("action") else None
    method = el.get("method", "POST").upper()
    targets = _targets(el)
    call.log("dial", targets=[f"{tag}:{text}" for tag, text, _ in targets], timeout=twiml.number(el, "timeout", 30))
    if targets and targets[0][0] == "Conference":
        return dial_conference(call, el, targets[0][2], base, action, method)
    unsupported = [tag for tag, _, _ in targets if tag not in SUPPORTED_NOUNS]
    if unsupported or not targets:
        call.log("webhook_error", url=base, reason=f"unsupported <Dial> nouns {unsupported or 'none'}", status=None)
        result = {"status": "failed", "sid": None, "duration": 0, "bridged": False}
    elif targets[0][0] == "Queue":
        result = _dial_queue(call, targets[0][1], targets[0][2], base, twiml.number(el, "timeout", 30))
    else:
        result = _dial_legs(call, el, targets, base)
    params = {"DialCallStatus": result["status"], "DialCallDuration": str(result["duration"]),
              "DialBridged": "true" if result["bridged"] else "false"}
    if result["sid"]:
        params["DialCallSid"] = result["sid"]
    call.log("dial_result", **{k: v for k, v in params.items()})
    return dial_ended(call, action, method, params)


def _ring_plan(call, tag, target, noun):
    """(seconds until it answers or None, 'busy' or None, talk_for) for one target."""
    sim = call.sim
    if tag == "Client":
        phone = sim.softphones.get(target)
        if phone is None or not phone.registered:
            return None, None, None, phone
        return (None if phone.reject else phone.answer_after), ("busy" if phone.reject else None), phone.talk_for, phone
    phone = sim.phone_for(target)
    return (None if phone.busy else phone.answer_after), ("busy" if phone.busy else None), phone.talk_for, phone


def _dial_legs(call, el, targets, base):
    sim = call.sim
    timeout = twiml.number(el, "timeout", 30)
    legs = []
    for tag, target, noun in targets:
        to = f"client:{target}" if tag == "Client" else target
        child = sim.new_leg(call, to, from_=el.get("callerId") or call.from_, noun=noun, base=base)
        answer_in, busy, talk_for, party = _ring_plan(call, tag, target, noun)
        child.talk_for = talk_for
        child.set_status("ringing")
        child.status_event("ringing")
        # Only a registered softphone is offered the call (an unregistered one used to get a
        # "missed" entry in its rings although Twilio never reached it).
        ring = party.ring(child.sid, call.from_, sim.elapsed()) \
            if tag == "Client" and party is not None and party.registered else None
        legs.append({"child": child, "answer_in": answer_in, "busy": busy, "ring": ring})
    busy_delay = 0.5
    first = min((leg["answer_in"] for leg in legs if leg["answer_in"] is not None and leg["answer_in"] <= timeout),
                default=None)
    if all(leg["busy"] for leg in legs):
        wait_for, outcome_if_no_answer = busy_delay, "busy"
    else:
        wait_for, outcome_if_no_answer = (first if first is not None else timeout), "no-answer"
    outcome = call.wait(wait_for)
    winner = next((leg for leg in legs if leg["answer_in"] == first), None) if outcome == "timeout" and first is not None else None
    for leg in legs:
        if leg is winner:
            continue
        status = "canceled" if outcome in ("hangup", "interrupt") or winner else (
            "busy" if leg["busy"] else "no-answer")
        if leg["ring"] is not None:
            leg["ring"]["outcome"] = {"busy": "rejected", "no-answer": "missed"}.get(status, status)
        leg["child"].finish(status)
    if winner is None:
        status = "canceled" if outcome in ("hangup", "interrupt") else outcome_if_no_answer
        return {"status": status, "sid": legs[0]["child"].sid if len(legs) == 1 else None, "duration": 0,
                "bridged": False}
    child = winner["child"]
    if winner["ring"] is not None:
        winner["ring"]["outcome"] = "answered"
    child.answer()
    bridge = Bridge(sim, call, child)
    bridge.connect()
    time_limit = twiml.number(el, "timeLimit", 14400)
    talk = min(x for x in (child.talk_for, time_limit) if x is not None)

    def agent_hangs_up():
        if not bridge.ended.is_set():
            child.log("hangup", by="callee")
            bridge.end(child)
    timer = sim.later(talk, agent_hangs_up)
    bridge.talk(call)
    timer.cancel()
    duration = bridge.duration()
    child.ended_by = "callee" if bridge.ended_by is child else "caller"
    child.finish("completed")
    return {"status": "completed", "sid": child.sid, "duration": duration, "bridged": True}


def _take_front(queue):
    """The first member still waiting, taken out of the queue atomically (or None)."""
    with queue.lock:
        for member in list(queue.members):
            hold = getattr(member, "hold", None)
            if hold is not None and not hold.dequeued.is_set() and not member.hung_up:
                queue.remove(member)
                return member
    return None


def _dial_queue(call, name, noun, base, timeout):
    queue = call.sim.queue_named(name, create=False)
    if queue is None:
        # Twilio: "If the queue does not exist, Dial will post an error status to its action URL."
        return {"status": "failed", "sid": None, "duration": 0, "bridged": False}
    # Twilio: "If the queue is empty, Dial will wait until the next person joins the queue or until
    # the <Dial> timeout duration is reached." (It used to answer no-answer at once.) Picking and
    # removing under the queue's lock also keeps two agents from taking the same caller.
    deadline = time.monotonic() + call.sim.real(timeout)
    member = _take_front(queue)
    while member is None:
        remaining = (deadline - time.monotonic()) / call.sim.time_scale
        outcome = call.wait(max(0.0, remaining), until=lambda: queue.pick(None) is not None) \
            if remaining > 0 else "timeout"
        if outcome in ("hangup", "interrupt"):
            return {"status": "canceled", "sid": None, "duration": 0, "bridged": False}
        if outcome == "timeout":
            return {"status": "no-answer", "sid": None, "duration": 0, "bridged": False}
        member = _take_front(queue)
        if member is None:
            call.wait(0.1)        # the front caller is on its way out (REST dequeue, hang-up)
    hold = member.hold
    bridge = Bridge(call.sim, member, call)
    hold.bridge = bridge
    hold.queue_url = twiml.resolve(base, noun.get("url")) if noun.get("url") else None
    hold.queue_method = noun.get("method", "POST").upper()     # <Queue method>: it was always POST
    hold.dequeued.set()
    member.wake()
    bridge.talk(call)
    return {"status": "completed", "sid": member.sid, "duration": bridge.duration(), "bridged": True}
