"""The ACD in the call path: callers enter queues, agents answer offers, calls
connect through Twilio's REST API, timers fire. Each state change is one
router script; this module does what must happen outside Redis (REST calls,
URLs, the config) around them.
"""
from __future__ import annotations

import json
import logging
import time
from datetime import datetime
from typing import Callable

import redis
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from contactcenter.errors import Conflict, Invalid, NotAllowed, NotFound, Unavailable
from contactcenter.model import ContactCenter, Node
from contactcenter.rules import Held
from store.keys import Keys

from . import timers
from .agents import SETTABLE, AgentStates, holding
from .conference import ConferenceLine
from .controls import CallControls
from .floor import Floor
from .legs import Legs
from .queueing import enqueue_fields, requirements
from .routing import Offer, Router, offers_from
from .scripts import buckets
from .transfers import Transfers
from .waiting import WaitingCallers

log = logging.getLogger(__name__)
REST_TIMEOUT_S = 10
CALLBACK_TRIES = 3          # unanswered callback calls before the request is given up
MAX_TALK_S = 86_400         # a talk Twilio says lasted longer is taken as a day


def twilio_client(account_sid: str, auth_token: str, api_url: str) -> Client:
    """The REST client, pointed at TWILIO_API_URL (Twilio, or the simulator's stand-in)."""
    client = Client(account_sid, auth_token, http_client=TwilioHttpClient(timeout=REST_TIMEOUT_S))
    client.api.base_url = api_url.rstrip("/")
    return client


def twilio_seconds(value: str | None) -> float | None:
    """A duration Twilio sent (CallDuration, DialCallDuration): whole seconds, at most a day; None when
    missing or not a number, so that a bad value never stops the call's counting."""
    if value is None or not value.isascii() or not value.strip().isdecimal():
        return None
    return float(min(int(value.strip()), MAX_TALK_S))


class AcdService:
    def __init__(self, cc: ContactCenter, r: redis.Redis, keys: Keys, router: Router,
                 twilio: Callable[[], Client], public_url: str | None, agents: AgentStates | None = None,
                 record_call: Callable[[str], None] | None = None):
        self.cc = cc
        self.record_call = record_call         # (call sid) -> write its call record again, later
        self.agents = agents or AgentStates(r, keys)
        self.r = r
        self.keys = keys
        self.router = router
        self._twilio_factory = twilio
        self._twilio: Client | None = None
        self.public_url = public_url
        self.line = ConferenceLine(self.twilio)
        self.controls = CallControls(r, keys, router, self.line, cc, self.url_for, self.after)
        self.transfers = Transfers(self.controls, self._journey_step)
        self.legs = Legs(self)
        self.waiting = WaitingCallers(self)
        self.floor = Floor(cc, router.scripts)

    seconds = staticmethod(lambda value: twilio_seconds(value))

    def twilio(self) -> Client:
        if self._twilio is None:
            self._twilio = self._twilio_factory()
        return self._twilio

    # -- callers -------------------------------------------------------------------
    def enqueue(self, call_sid: str, node: Node, from_number: str, now: datetime, region: str | None = None) -> bool:
        """Put the caller in line and route, in one script; False when nobody who could serve is
        logged in (the caller goes to the queue's overflow instead)."""
        script, keys, args = self.enqueue_call(call_sid, node, from_number, now, region)
        return self.enqueued(script(keys=keys, args=args), now)

    def enqueue_call(self, call_sid: str, node: Node, from_number: str, now: datetime,
                     region: str | None = None, held: Held | None = None, turn: str = "") -> tuple:
        """`enqueue` as (script, keys, args), to run in one round trip with the IVR's turn;
        hand its result to `enqueued`. `held`: what the queue's rules that held give (priority
        points, raised requirements, a strategy); `turn`: the IVR request's token (a stale copy of a
        menu answer queues nobody)."""
        queue = self.cc.queues[node.queue]
        held = held or Held()
        fields, timers = enqueue_fields(queue, node, from_number, now, call_sid=call_sid, region=region,
                                        priority_bonus=held.priority, raised=held.skills)
        fields["strategy"] = held.strategy or fields["strategy"]
        fields["node"] = node.name
        return self.router.enqueue_call(call_sid, fields, timers, now, from_number, queue.preferred_agent_wait_s,
                                        turn)

    def enqueued(self, result, now: datetime) -> bool:
        """False when nobody who could serve is logged in (the caller goes to the overflow)."""
        status, offers = self.router.enqueued(result)
        self.after(offers, now)
        return status != "nobody"

    def caller_gone(self, call_sid: str, now: datetime) -> None:
        self.after(self.router.call_gone(call_sid, now)[1], now)
        self.legs.caller_left(call_sid)

    def place_in_line(self, call_sid: str, queue, now: datetime) -> tuple[int, float] | None:
        """(position, estimated wait in s) of a waiting caller: the ACD's order, not Twilio's.

        The estimate is the work ahead (position x average handle time) shared by the agents
        staffing the queue; before any call today, a 3-minute handle time is assumed."""
        rank = self.r.zrank(self.keys.queue(queue.name), call_sid)
        if rank is None:
            return None
        position = rank + 1
        day = buckets(now, self.cc.timezone).split("|")[0]
        stats = {k.decode(): float(v) for k, v in
                 self.r.hgetall(self.keys.queue_stats(queue.name, day)).items()}
        answered = stats.get("answered", 0)
        handle = (stats.get("talk_s", 0) + stats.get("wrap_s", 0)) / answered if answered else 180.0
        staffed = self.staffed(requirements(queue))
        return position, position * handle / max(1, staffed)

    def staffed(self, req: dict[str, int]) -> int:
        """Agents working (available, reserved, busy, wrap-up) who hold these skills."""
        counts = holding(self.agents.all(), req)
        return sum(counts.get(status, 0) for status in ("available", "reserved", "busy", "wrapup"))

    # -- agents --------------------------------------------------------------------
    def set_status(self, agent_id: str, status: str, now: datetime, by: str = "", reason: str = "") -> tuple[int, str]:
        code, current, offers = self.router.set_status(agent_id, status, now, by, reason)
        self.after(offers, now)
        return code, current

    def change_status(self, agent_id: str, wanted, now: datetime, by: str = "", reason: str | None = None) -> str:
        """An agent (or a supervisor, `by`) logs them in, takes a break (for one of the contact
        center's break reasons, if given) or logs out: the status now."""
        if wanted not in SETTABLE:
            raise Invalid(f"status must be one of {', '.join(SETTABLE)}")
        if reason is not None and wanted != "break":
            raise Invalid("reason: only a break has a reason")
        if reason is not None and reason not in self.cc.break_reasons:
            raise Invalid(f"reason: one of {', '.join(self.cc.break_reasons) or '(none configured)'}, not {reason!r}")
        code, current = self.set_status(agent_id, wanted, now, by, reason or "")
        if code == 404:
            raise NotFound(f"unknown agent {agent_id!r}")
        if code == 409:
            raise Conflict(f"agent is {current}: the offer or call decides what comes next", status=current)
        return current

    def current_offer(self, agent_id: str, live: dict) -> dict | None:
        """The offer event of the offer an agent (in state `live`) holds and has not answered."""
        rid = live.get("offer", "")
        offer = self.r.hgetall(self.keys.offer(rid)) if rid else {}
        if live.get("status") != "reserved" or offer.get(b"state") != b"pending":
            return None
        return {"event": "offer", "reservation_id": rid, "call_sid": offer[b"call"].decode(),
                "queue": offer[b"queue"].decode(), "expires_at": float(offer[b"deadline"])}

    def accept(self, reservation_id: str, agent_id: str, now: datetime) -> tuple[int, str]:
        """(HTTP status, message). On accept the caller's live call is sent to dial the agent."""
        code, call_sid, rest = self.router.answer_offer(reservation_id, "accept", now, agent_id)
        if code == 3:                          # an offer to join a connected call: ring them into it
            self.transfers.ring_party(call_sid, agent_id, reservation_id, now)
            return 200, "accepted"
        if code != 1:
            self.after(offers_from(rest) if code in (2, 4) else [], now)   # too late: the offer's timeout
            return 409, "the offer is gone"
        if self._field(call_sid, "callback"):
            return self._call_back(call_sid, reservation_id, now)
        url = self.url_for(call_sid, f"/voice/connect?rid={reservation_id}")
        try:
            self.twilio().calls(call_sid).update(url=url, method="POST")
        except TwilioRestException as exc:
            if 400 <= exc.status < 500:
                # Twilio says the call is over: the caller is gone, the agent is free at once.
                log.info("call %s ended before it could be connected: %s", call_sid, exc.msg)
                self.caller_gone(call_sid, now)
                return 409, "the caller hung up"
            return self._connect_failed(call_sid, now, f"Twilio answered {exc.status}")
        except (TwilioException, OSError) as exc:
            return self._connect_failed(call_sid, now, type(exc).__name__)
        return 200, "accepted"

    def _call_back(self, call_sid: str, reservation_id: str, now: datetime) -> tuple[int, str]:
        """A callback's turn: call the customer; once they answer, their call dials the agent."""
        number, called = self._field(call_sid, "callback_number"), self._field(call_sid, "to")
        try:
            leg = self.twilio().calls.create(
                to=number, from_=called, url=self.url_for(call_sid, f"/voice/connect?rid={reservation_id}"),
                method="POST", status_callback=self.url_for(call_sid, f"/voice/callback-status?rid={reservation_id}"),
                status_callback_event=["completed"], status_callback_method="POST", timeout=30)
        except (TwilioException, OSError) as exc:
            return self._connect_failed(call_sid, now, f"could not place the callback: {type(exc).__name__}")
        # The customer's new call stands for the original one in every later callback.
        self.r.set(self.keys.callback_leg(leg.sid), call_sid, ex=86400)
        self.r.hset(self.keys.call(call_sid), "callback_leg", leg.sid)
        return 200, "calling the customer back"

    def original_call(self, call_sid: str) -> str:
        """The queued call a callback leg stands for (itself for ordinary calls)."""
        original = self.r.get(self.keys.callback_leg(call_sid))
        return original.decode() if original else call_sid

    def callback_leg_ended(self, call_sid: str, leg_status: str, now: datetime) -> None:
        """The customer's callback call ended: after a talk, done; unanswered, back in line
        (three tries, then the request is given up)."""
        if self._field(call_sid, "acd") != "connecting":
            self.router.talk_ended(call_sid, now)
            self.legs.caller_left(call_sid)
            return
        tries = self.r.hincrby(self.keys.call(call_sid), "callback_tries", 1)
        if tries >= CALLBACK_TRIES:
            # Given up: out of line, the agent freed; the record says why.
            self.r.hdel(self.keys.call(call_sid), "callback")
            self.caller_gone(call_sid, now)
            self.r.hset(self.keys.call(call_sid), "outcome", "callback_failed")
            return
        self.after(self.router.dial_failed(call_sid, now)[1], now)

    def request_callback(self, call_sid: str, number: str, now: datetime) -> bool:
        return self.router.request_callback(call_sid, number, now)

    def _connect_failed(self, call_sid: str, now: datetime, why: str) -> tuple[int, str]:
        log.warning("could not redirect %s to its agent (%s); back in line", call_sid, why)
        self.after(self.router.dial_failed(call_sid, now, service_fault=True)[1], now)
        return 502, f"could not reach Twilio to connect the call ({why}); the caller keeps their place"

    def accept_for(self, reservation_id: str, may_act_for: Callable[[str], bool], now: datetime) -> None:
        """`accept` on behalf of who asks; refused when the offer is gone or someone else's."""
        code, message = self.accept(reservation_id, self._offer_agent(reservation_id, may_act_for), now)
        if code == 409:
            raise Conflict(message)
        if code != 200:
            raise Unavailable(message)

    def reject_for(self, reservation_id: str, may_act_for: Callable[[str], bool], now: datetime) -> None:
        if not self.reject(reservation_id, self._offer_agent(reservation_id, may_act_for), now):
            raise Conflict("the offer is gone")

    def _offer_agent(self, reservation_id: str, may_act_for: Callable[[str], bool]) -> str:
        agent = self.r.hget(self.keys.offer(reservation_id), "agent")
        if agent is None:
            raise Conflict("the offer is gone")
        if not may_act_for(agent.decode()):
            raise NotAllowed("this offer is for another agent")
        return agent.decode()

    def reject(self, reservation_id: str, agent_id: str, now: datetime) -> bool:
        won, _, offers = self.router.answer(reservation_id, "reject", now, agent_id)
        self.after(offers, now)
        return won

    def end_wrapup(self, agent_id: str, call_sid: str, now: datetime) -> str | None:
        status, offers = self.router.end_wrapup(agent_id, call_sid, now)
        self.after(offers, now)
        return status

    # -- the agent's leg ------------------------------------------------------------
    def offer_target(self, reservation_id: str) -> tuple[str | None, str | None]:
        """(call sid, agent id) of an accepted offer, for the TwiML that dials the agent."""
        raw = self.r.hmget(self.keys.offer(reservation_id), "call", "agent", "state")
        if raw[2] != b"accepted":
            return None, None
        return raw[0].decode(), raw[1].decode()

    def conference_event(self, call_sid: str, event: str | None, room: str | None, leg: str | None,
                         label: str | None, hold: str | None, now: datetime) -> None:
        """A conference status callback: the caller's hold (whoever set it) counts hold time; an agent
        joining or leaving and the conference's end move the ACD as the legs' own callbacks do (either
        may be lost on its way: each is the other's second chance, and repeats change nothing)."""
        caller = self.controls.legs(call_sid).get("caller") if leg else None
        if event in ("participant-hold", "participant-unhold") and caller == leg:
            self.router.hold(call_sid, event == "participant-hold", now)
        elif event in ("participant-join", "participant-leave", "conference-end"):
            self.legs.conference_event(call_sid, event, room or "", leg, label, now)

    def dialed(self, call_sid: str, dial_status: str, now: datetime, duration: str | None = None) -> bool:
        """The Dial to the agent ended; True when the caller must queue again (no answer). A completed
        Dial counts the answer and its talk (DialCallDuration) even if no leg callback came."""
        if dial_status in ("completed", "answered"):
            self.router.dial_completed(call_sid, twilio_seconds(duration), now)
            return False
        ok, offers = self.router.dial_failed(call_sid, now)
        self.after(offers, now)
        return ok

    # -- timers --------------------------------------------------------------------
    def tick(self, now: datetime) -> int:
        """Handle every due timer (acd/timers.py)."""
        return timers.tick(self, now)

    def refresh_shifts(self, now: datetime) -> int:
        """Agents whose shift started or ended since the last look join or leave routing."""
        return timers.refresh_shifts(self, now)

    def overflow(self, call_sid: str, now: datetime) -> None:
        """Send a waiting caller to the queue's overflow node (max wait passed). A callback request
        is nobody on hold: it keeps its place until an agent calls back."""
        if self._field(call_sid, "callback") or not self.router.leave_queue(call_sid, "overflowed", now):
            return
        self._send_to_overflow(call_sid)

    def overflow_stranded(self, now: datetime) -> int:
        """Callers whom nobody logged in could serve any more (the last such agent logged out) go to
        their queue's overflow node, as they would have on arriving."""
        stranded = self.router.overflow_stranded(now)
        for call_sid in stranded:
            self._send_to_overflow(call_sid)
        return len(stranded)

    def _send_to_overflow(self, call_sid: str) -> None:
        node = self._field(call_sid, "node")
        try:
            self.twilio().calls(call_sid).update(url=self.url_for(call_sid, f"/voice/overflow?node={node}"),
                                                 method="POST")
        except (TwilioException, OSError) as exc:
            log.warning("could not send %s to overflow: %s", call_sid, exc)

    # -- helpers -------------------------------------------------------------------
    def after(self, offers: list[Offer], now: datetime) -> None:
        """Offers are published to the agents by the scripts; auto-accepting agents take them here."""
        for offer in offers:
            if self.r.hget(self.keys.agent(offer.agent_id), "auto_accept") == b"1":
                self.accept(offer.reservation_id, offer.agent_id, now)

    def _journey_step(self, call_sid: str, step: dict) -> None:
        """A step of the caller's journey written by the ACD (a transfer), for the next agent's pop."""
        key = self.keys.journey(call_sid)
        self.r.rpush(key, json.dumps({**step, "at": round(time.time(), 3)}, ensure_ascii=False))

    def _field(self, call_sid: str, name: str) -> str | None:
        value = self.r.hget(self.keys.call(call_sid), name)
        return value.decode() if value else None

    def url_for(self, call_sid: str, path: str) -> str:
        """Absolute URL for REST updates: PUBLIC_URL, or the base Twilio reached us at."""
        base = self.public_url or self._field(call_sid, "base_url") or "http://127.0.0.1:8000"
        return base.rstrip("/") + path
