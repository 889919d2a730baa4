"""A connected call's Twilio conference, through the REST API: who is in it and how they hear.

Every caller an agent accepts talks to them in a `<Conference>` of their own (the pattern Twilio
Flex uses), so that holding the caller, muting the agent, adding a colleague, a number or a
supervisor, and coaching are REST operations on the conference's participants (Twilio's
`Conferences/{Sid}/Participants` resource), never a new call for the caller:

- the caller joins by TwiML (`ivr/twiml.conference`) with endConferenceOnExit=true: a caller who
  hangs up ends the call for everyone;
- the primary agent is added by `Participants` create with endConferenceOnExit=true while they are
  the only agent, set to false while a transfer is under way (so that they may leave), and the agent
  taking over gets it when the transfer completes;
- consulted agents, three-way parties and supervisors join with endConferenceOnExit=false.

Twilio's answers are turned into the domain's refusals: a 4xx (the call or conference is over) is
`Gone`, anything else (5xx, no network) `Unavailable`.
"""
from __future__ import annotations

import logging
from typing import Callable

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from contactcenter.errors import Unavailable

log = logging.getLogger(__name__)
PARTY_RING_S = 20              # how long an added party's phone rings
LEG_EVENTS = ["initiated", "ringing", "answered", "completed"]
CONFERENCE_EVENTS = ["start", "end", "join", "leave", "hold"]


class Gone(Exception):
    """Twilio says the call or the conference is over (a 4xx)."""


class ConferenceLine:
    def __init__(self, twilio: Callable[[], Client]):
        self._twilio = twilio

    def add(self, conference: str, to: str, from_: str, status_url: str, conference_url: str, *, label: str,
            end_on_exit: bool = False, muted: bool = False, coach: str | None = None,
            timeout: int = PARTY_RING_S) -> tuple[str, str]:
        """Dial `to` (`client:<identity>` or a number) into the conference (a name or its CF sid);
        (the new leg's CallSid, the conference's sid)."""
        kwargs = dict(from_=from_, to=to, label=label, start_conference_on_enter=True,
                      end_conference_on_exit=end_on_exit, beep="false", timeout=timeout, early_media=False,
                      status_callback=status_url, status_callback_method="POST", status_callback_event=LEG_EVENTS,
                      conference_status_callback=conference_url, conference_status_callback_method="POST",
                      conference_status_callback_event=CONFERENCE_EVENTS)
        if muted:
            kwargs["muted"] = True
        if coach:
            kwargs.update(coaching=True, call_sid_to_coach=coach)
        participant = self._do("add a participant", lambda t: t.conferences(conference).participants.create(**kwargs))
        return participant.call_sid, participant.conference_sid

    def update(self, conference_sid: str, leg: str, **changes) -> None:
        """Hold (`hold`, `hold_url`, `hold_method`), mute (`muted`), coaching (`coaching`,
        `call_sid_to_coach`) or `end_conference_on_exit` of one participant."""
        self._do("update a participant", lambda t: t.conferences(conference_sid).participants(leg).update(**changes))

    def remove(self, conference_sid: str, leg: str) -> None:
        """Take a participant out (their call ends); one already gone is fine."""
        try:
            self._do("remove a participant", lambda t: t.conferences(conference_sid).participants(leg).delete())
        except Gone:
            pass

    def end(self, conference_sid: str) -> None:
        """End the conference: everyone still in it leaves; one over already is fine."""
        try:
            self._do("end the conference", lambda t: t.conferences(conference_sid).update(status="completed"))
        except Gone:
            pass

    def redirect(self, call_sid: str, url: str) -> None:
        """Send a call (the caller's) to new TwiML: out of the conference, into a queue or a Dial."""
        self._do("redirect the call", lambda t: t.calls(call_sid).update(url=url, method="POST"))

    def status(self, call_sid: str) -> str:
        """A call's status as Twilio knows it now (`in-progress`, `completed`…)."""
        return self._do("look up the call", lambda t: t.calls(call_sid).fetch().status)

    def _do(self, what: str, action):
        try:
            return action(self._twilio())
        except TwilioRestException as exc:
            if 400 <= exc.status < 500:
                log.info("could not %s: Twilio answered %s (%s)", what, exc.status, exc.msg)
                raise Gone(f"could not {what}: the call or its conference is over") from None
            raise Unavailable(f"could not {what}: Twilio answered {exc.status}") from None
        except (TwilioException, OSError) as exc:
            raise Unavailable(f"could not {what}: {type(exc).__name__}") from None
