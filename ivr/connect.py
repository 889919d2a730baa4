"""The caller and the agent: the Twilio callbacks of a call the ACD connects.

Once an agent accepts, the ACD sends the caller's live call (or, for a callback, the customer's
new call) to /voice/connect: the agent's softphone is dialed into a conference of the call's own
(acd/legs.py) and the caller's TwiML joins it. The Dial's action, the agent legs' status callbacks,
the callback call's status and the survey after the talk come back here, and the documents of a
call's controls: the hold music, a transfer to a queue or to a number.
A callback's outbound call stands for the queued call it serves: every callback is mapped back to
that original call (`acd.original_call`) before the ACD or the call record hears of it.
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from . import twiml
from .calls import TERMINAL, IvrCalls, Params
from .survey import Surveys

CALLBACK_SORRY = "Sorry, we could not connect you. We will call you again."
CALLBACK_MISSED = "Sorry, nobody could take your call just now. We will call you again."
CALLBACK_GREETING = "Hello, we are returning your call. Connecting you now."


class Connections:
    def __init__(self, ivr: IvrCalls, acd, surveys: Surveys, record_call: Callable[[str, dict | None], None],
                 clock: Callable[[], datetime]):
        self.ivr, self.acd, self.surveys = ivr, acd, surveys
        self.record_call = record_call     # (call sid, extra fields) -> write the call record later
        self.clock = clock

    def connect(self, p: Params, reservation_id: str) -> str:
        """Join the caller to the conference of an accepted offer; the agent is dialed into it once the
        caller is there (`connect_wait`). A stale or foreign reservation sends the caller back to their
        queue (never to an error); a callback call whose offer is gone is told why."""
        call_sid, agent = self.acd.offer_target(reservation_id)
        original = self.acd.original_call(p.call_sid)
        is_callback = original != p.call_sid
        if call_sid != original or agent is None:
            if is_callback:
                return twiml.goodbye(CALLBACK_SORRY, None)
            return self._back_in_line(p)
        name = self.acd.legs.expect(original, p.call_sid, reservation_id, self.clock())
        return twiml.conference(name, action=f"agent-dialed?rid={reservation_id}",
                                status_callback=f"conference?call={original}",
                                wait_url=f"connect-wait?rid={reservation_id}",
                                greeting=CALLBACK_GREETING if is_callback else None)

    def connect_wait(self, p: Params, reservation_id: str) -> str:
        """The caller's waitUrl while their conference has not started (the agent's phone rings).
        A caller whose talk is over already (the agent answered and left before the caller joined, so
        the caller is alone in a new, empty conference) is sent on to what follows a talk."""
        original = self.acd.original_call(p.call_sid)
        call = self.ivr.calls.load(original) or {}
        # (a callback's queued call is `gone` from the start: its caller hung up keeping their place)
        if call.get("acd") == "ended" or (call.get("gone") and original == p.call_sid):
            self.acd.legs.after_talk(original, p.call_sid, reservation_id)
            return twiml.pause(1)
        self.acd.legs.caller_in(original, reservation_id, self.clock())      # the agent's phone rings now
        queue = self.ivr.cc.queues.get(call.get("queue", ""))
        return twiml.ringing(queue.hold_music if queue else None)

    def after_talk(self, p: Params) -> str:
        """What follows a talk (the survey or a goodbye), for a caller sent here by a REST redirect."""
        original = self.acd.original_call(p.call_sid)
        if original != p.call_sid:
            return twiml.goodbye(None, None)
        return self.surveys.after_talk(original) or twiml.goodbye(None, None)

    def agent_dialed(self, p: Params, dial_status: str | None, duration: str | None = None) -> str:
        """The Dial to the agent ended: the survey or goodbye after a talk (`duration` s, counted even
        if the agent leg's callbacks never came), back in line when nobody answered (a missed
        callback is back in line and the customer hears why)."""
        original = self.acd.original_call(p.call_sid)
        requeue = self.acd.dialed(original, dial_status or "failed", self.clock(), duration)
        if requeue and original != p.call_sid:
            return twiml.goodbye(CALLBACK_MISSED, None)
        if requeue:
            return self._back_in_line(p)
        return self.surveys.after_talk(original) or twiml.goodbye(None, None)

    def survey_answer(self, p: Params, tries: int) -> str:
        """The caller's rating after the talk, kept on the queued call."""
        return self.surveys.answer(self.acd.original_call(p.call_sid), p.digits, p.speech, tries)

    def agent_leg(self, call_sid: str | None, agent: str | None, rid: str, parent_sid: str | None,
                  leg_status: str | None, duration: str | None = None) -> None:
        """Status of an agent's leg: of the call named in the URL (a conference leg), or the parent
        call's (a `<Dial><Client>` leg of a document from before conferences)."""
        call_sid = call_sid or (self.acd.original_call(parent_sid) if parent_sid else None)
        if call_sid:
            self.acd.legs.status(call_sid, agent, rid, leg_status, duration, self.clock())

    def requeue(self, p: Params, node: str) -> str:
        """The agent did not answer: the caller, sent here from the conference, is back in line."""
        return self.ivr.requeue(p, node)

    def transferred(self, p: Params, node: str, queue: str) -> str:
        """A caller transferred to a queue waits there; one whom the ACD connected meanwhile (an
        agent accepted before this document was asked for) goes to that agent instead."""
        call = self.ivr.calls.load(p.call_sid) or {}
        if call.get("acd") in ("connecting", "connected") and call.get("offer"):
            return twiml.redirect(f"connect?rid={call['offer']}")
        if call.get("gone") or queue not in self.ivr.cc.queues:
            return twiml.goodbye(None, None)
        return twiml.enqueue_transferred(queue, node)

    def on_hold(self, p: Params, queue: str) -> str:
        """The hold music and message of a caller on hold (the queue's)."""
        q = self.ivr.cc.queues.get(queue)
        node = self.ivr.node_for(p.call_sid, p.to_number)
        if q is None:
            return twiml.empty()
        return twiml.on_hold(q, node)

    def callback_status(self, call_sid: str, call_status: str | None) -> None:
        """The customer's callback call ended: the ACD decides what next, the record learns it."""
        original = self.acd.original_call(call_sid)
        if original != call_sid and call_status in TERMINAL:
            self.acd.callback_leg_ended(original, call_status, self.clock())
            self.record_call(original, None)

    def _back_in_line(self, p: Params) -> str:
        return self.ivr.requeue(p, (self.ivr.calls.load(p.call_sid) or {}).get("node", ""))
