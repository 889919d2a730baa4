"""The caller and the agents meet in a conference: the agent's leg is dialed into it, and every
agent leg's status callback moves the ACD on.

Once an agent accepts, the caller's call runs `<Dial><Conference>` (ivr/connect.py) and the agent's
softphone is added to the same conference through the REST API, with a status callback that names
the call, the agent and the reservation (`/voice/agent-leg?call&agent&rid`). A leg's status is the
primary agent's (answered: the talk starts; completed: it ends; no answer: the caller goes back in
line, sent there by a REST update) or a consulted or added agent's (acd/lua/party_leg.lua). A leg of
an earlier part of the call (the agent before a transfer) changes nothing: its reservation is not
the call's any more.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime

from contactcenter.errors import Conflict, Invalid, NotAllowed, NotFound, Unavailable

from .conference import Gone
from .controls import FAILED_LEG

log = logging.getLogger(__name__)
JOIN_S = 10         # the caller's signs of being in the conference come within moments of the connect answer


def conference_name(call_sid: str, reservation_id: str) -> str:
    """One conference per connection of the call to an agent (a cold transfer connects it again)."""
    return f"cr-{call_sid}-{reservation_id[-8:]}"


class Legs:
    def __init__(self, acd):
        self.acd = acd

    def expect(self, call_sid: str, caller_leg: str, rid: str, now: datetime) -> str:
        """The conference the caller's leg is about to join for reservation `rid`: its name. Both signs
        that the caller is in (the wait document's fetch, the `participant-join` callback) may be lost,
        so a `joining:` timer asks Twilio after JOIN_S (`joining_overdue`)."""
        acd, name = self.acd, conference_name(call_sid, rid)
        acd.controls.remember_leg(call_sid, conference=name, caller=caller_leg)
        acd.r.zadd(acd.keys.timers(), {f"joining:{call_sid}:{rid}": now.timestamp() + JOIN_S})
        return name

    def joining_overdue(self, call_sid: str, rid: str, now: datetime) -> None:
        """Neither sign of the caller in the conference came within JOIN_S: Twilio says whether their
        call is still on. On (or Twilio unreachable): they wait in the conference, the agent is dialed
        now; over: their hang-up callback was lost too, the call is let go and the agent freed."""
        acd = self.acd
        raw = acd.r.hmget(acd.keys.call(call_sid), "acd", "offer", "agent", "from")
        state, offer, agent, from_number = (v.decode() if v else "" for v in raw)
        if state != "connecting" or offer != rid or not agent:
            return
        if acd.r.hexists(acd.keys.legs(call_sid), f"joined:{rid}"):
            return
        caller = acd.controls.legs(call_sid).get("caller") or call_sid
        try:
            live = acd.line.status(caller) in ("queued", "ringing", "in-progress")
        except Gone:
            live = False
        except Unavailable as exc:
            log.warning("could not ask Twilio about %s (%s); dialing the agent", call_sid, exc)
            live = True
        log.warning("no sign of %s in its conference after %s s; its call is %s", call_sid, JOIN_S,
                    "on: dialing the agent" if live else "over: letting it go")
        if live:
            self.join(call_sid, rid, agent, from_number, now)
            return
        acd.caller_gone(call_sid, now)
        acd.after(acd.router.dial_failed(call_sid, now, rid)[1], now)

    def join(self, call_sid: str, rid: str, agent: str, from_number: str, now: datetime) -> None:
        """The caller is in the conference (their wait document was asked for, or Twilio said they
        joined): dial the agent's softphone into it, once per reservation. Only then: an agent rung
        before the caller is there would answer an empty room when the caller's TwiML never came (an
        answer lost on its way, a hang-up meanwhile) and count a talk nobody had. An agent who cannot
        be dialed sends the caller back in line."""
        acd, name = self.acd, conference_name(call_sid, rid)
        key = acd.keys.legs(call_sid)
        if not acd.r.hsetnx(key, f"joined:{rid}", round(time.time(), 3)):
            return
        try:
            leg, conference_sid = acd.line.add(
                name, f"client:{agent}", from_number or "callrouter",
                acd.url_for(call_sid, f"/voice/agent-leg?call={call_sid}&agent={agent}&rid={rid}"),
                acd.url_for(call_sid, f"/voice/conference?call={call_sid}"), label=f"agent-{agent}",
                end_on_exit=True)
        except (Gone, Unavailable) as exc:
            log.warning("could not dial %s into %s's conference (%s); back in line", agent, call_sid, exc)
            back, offers = acd.router.dial_failed(call_sid, now, rid, service_fault=True)
            if back:
                self._back_in_line(call_sid, now)
            acd.after(offers, now)
            return
        acd.controls.remember_leg(call_sid, conference_sid=conference_sid, **{f"agent:{agent}": leg})

    def caller_in(self, call_sid: str, rid: str, now: datetime) -> None:
        """Evidence that the caller is in the conference of reservation `rid`: the agent is dialed if
        this is the call's connection under way."""
        acd = self.acd
        raw = acd.r.hmget(acd.keys.call(call_sid), "acd", "offer", "agent", "from")
        state, offer, agent, from_number = (v.decode() if v else "" for v in raw)
        if state == "connecting" and offer == rid and agent:
            self.join(call_sid, rid, agent, from_number, now)

    def status(self, call_sid: str, agent: str | None, rid: str, leg_status: str | None, duration: str | None,
               now: datetime) -> None:
        """An agent leg's status callback (see the module's docstring)."""
        acd, router = self.acd, self.acd.router
        if leg_status == "in-progress":
            if not (agent and router.party_leg(call_sid, agent, "joined", now)[0]):
                router.connected(call_sid, now, rid)
        elif leg_status == "completed":
            changed, offers = router.party_leg(call_sid, agent, "left", now) if agent else (False, [])
            if not changed and not (agent and self._hand_over(call_sid, agent, now)):
                router.dial_completed(call_sid, acd.seconds(duration), now, rid)
            acd.after(offers, now)
        elif leg_status in FAILED_LEG:
            changed, offers = router.party_leg(call_sid, agent, "failed", now) if agent else (False, [])
            if not changed:
                back, offers = router.dial_failed(call_sid, now, rid)
                if back and agent:
                    self._back_in_line(call_sid, now)
            acd.after(offers, now)

    def conference_event(self, call_sid: str, event: str, room: str, leg: str | None, label: str | None,
                         now: datetime) -> None:
        """An agent joined or left the call's conference, or it ended: the same step as that agent leg's
        own `in-progress` or `completed` callback. Only the call's current conference counts (one of
        an earlier connection, before a cold transfer, ends long after the call moved on), and only an
        agent's latest leg on the call: its primary agent (for the reservation they hold now) or a
        consulted or added agent."""
        acd = self.acd
        raw = acd.r.hmget(acd.keys.call(call_sid), "agent", "offer", "acd")
        agent_now, rid, state = (v.decode() if v else "" for v in raw)
        if not rid or room != conference_name(call_sid, rid) or state not in ("connecting", "connected"):
            return
        if event == "conference-end":
            # the end of a talk only once the agent was in: a caller who leaves while the agent's
            # phone rings ends the (empty) conference too
            if agent_now and state == "connected":
                self.status(call_sid, agent_now, rid, "completed", None, now)
            return
        legs = acd.controls.legs(call_sid)
        if event == "participant-join" and leg and leg == legs.get("caller"):
            self.caller_in(call_sid, rid, now)
            return
        agent = (label or "").removeprefix("agent-") if (label or "").startswith("agent-") else ""
        if not agent or not leg or legs.get(f"agent:{agent}") != leg:
            return
        if agent != agent_now and agent not in acd.controls.parties(call_sid):
            return
        self.status(call_sid, agent, rid if agent == agent_now else "",
                    "in-progress" if event == "participant-join" else "completed", None, now)

    def after_talk(self, call_sid: str, caller_leg: str, rid: str) -> None:
        """Send a caller waiting alone in a conference after their talk ended on to what follows a
        talk, once per connection (the wait document is asked for again and again)."""
        acd = self.acd
        if not acd.r.hsetnx(acd.keys.legs(call_sid), f"after:{rid}", 1):
            return
        try:
            acd.line.redirect(caller_leg, acd.url_for(call_sid, "/voice/after-talk"))
        except (Gone, Unavailable) as exc:
            log.info("could not send %s on after its talk: %s", call_sid, exc)

    def caller_left(self, call_sid: str) -> None:
        """The caller's call ended: their conference ends with it, once. (A caller who hangs up before
        joining it never ends it by leaving: an agent answering meanwhile would wait there alone.)"""
        acd = self.acd
        legs = acd.controls.legs(call_sid)
        if not legs.get("conference_sid") or not acd.r.hsetnx(acd.keys.legs(call_sid), "ended", 1):
            return
        try:
            acd.line.end(legs["conference_sid"])
        except Unavailable as exc:
            log.warning("could not end %s's conference: %s", call_sid, exc)

    def _hand_over(self, call_sid: str, agent: str, now: datetime) -> bool:
        """The call's agent hung up during their warm transfer: the caller is not dropped. A consult
        under way completes (the target keeps the caller, as if the agent had pressed Complete); a target
        still ringing gets the call as a cold transfer (the caller waits for them in line, at their first
        place). False when there is nothing to hand over, or when the caller is gone too: a caller's
        hang-up ends the conference and every leg with it, often before their own status callback
        comes, so Twilio is asked about the caller's call first."""
        acd = self.acd
        call = acd.controls.call(call_sid)
        xid = call.get("xfer")
        if not xid or call.get("agent") != agent or call.get("acd") != "connected" or call.get("gone"):
            return False
        caller = acd.controls.legs(call_sid).get("caller")
        try:
            if not caller or acd.line.status(caller) != "in-progress":
                return False
        except Gone:
            return False
        except Unavailable as exc:          # cannot tell: a caller on hold must not be stranded
            log.warning("could not look up %s's caller (%s); handing the call over", call_sid, exc)
        transfers = acd.transfers
        try:
            t = transfers.load(xid)
            if t.get("state") == "consulting":
                transfers.complete(xid, agent, now)
            else:
                transfers.cancel(xid, agent, now)
                transfers.transfer(call_sid, agent, {t.get("kind", "agent"): t.get("target")}, "cold",
                                   t.get("notes"), now)
        except (Conflict, Invalid, NotAllowed, NotFound) as exc:
            log.info("%s left during transfer %s; it could not be handed over: %s", agent, xid, exc)
            return False
        log.info("%s left during transfer %s of %s: handed over", agent, xid, call_sid)
        return True

    def _back_in_line(self, call_sid: str, now: datetime) -> None:
        """The agent did not answer: the caller, waiting alone in the conference, goes back to their
        queue's node (a callback's customer hears why and is called again later)."""
        acd = self.acd
        legs = acd.controls.legs(call_sid)
        caller = legs.get("caller") or call_sid
        if caller != call_sid:
            path = "/voice/callback-missed"
        else:
            path = f"/voice/requeue?node={acd._field(call_sid, 'node') or ''}"
        try:
            acd.line.redirect(caller, acd.url_for(call_sid, path))
        except Gone:
            acd.caller_gone(call_sid, now)
        except Unavailable as exc:
            log.warning("could not send %s back in line: %s", call_sid, exc)
