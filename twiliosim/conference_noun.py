"""The `<Dial><Conference>` noun (registered by `dial.py`): the call joins its room
(conferences.py), hears wait or hold music (a waitUrl or HoldUrl document runs with Play, Say,
Pause and Redirect), stays until it hangs up, is removed or redirected over REST, or the
conference ends; then the Dial's action is requested, or the document goes on."""
from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

from . import twiml
from .conferences import (
    DEFAULT_EVENTS,
    DEFAULT_WAIT_URL,
    MAX_PARTICIPANTS,
    TWIML_EVENTS,
    WAIT_VERBS,
    Participant,
    Room,
    conferences,
    is_music,
)
from .outcomes import END, dial_ended


def _events(value: str | None) -> tuple[str, ...]:
    return tuple(e for e in (value or "").replace(",", " ").split() if e in TWIML_EVENTS)


def participant_from_noun(call, noun, base) -> tuple[Participant, tuple | None]:
    """The participant a `<Conference>` noun describes, and the conference callback it names."""
    wait_url = noun.get("waitUrl")
    if wait_url is None:
        wait_url = DEFAULT_WAIT_URL
    elif wait_url.strip():
        wait_url = twiml.resolve(base, wait_url)
    else:
        wait_url = ""
    coach = (noun.get("coach") or "").strip() or None
    participant = Participant(call, muted=twiml.flag(noun, "muted"), beep=noun.get("beep", "true"),
                              start_on_enter=twiml.flag(noun, "startConferenceOnEnter", True),
                              end_on_exit=twiml.flag(noun, "endConferenceOnExit"),
                              wait_url=wait_url, wait_method=noun.get("waitMethod", "POST").upper(),
                              coaching=coach is not None, call_sid_to_coach=coach,
                              label=noun.get("participantLabel"))
    callback = None
    if noun.get("statusCallback"):
        callback = (twiml.resolve(base, noun.get("statusCallback")), noun.get("statusCallbackMethod", "POST").upper(),
                    _events(noun.get("statusCallbackEvent")) or DEFAULT_EVENTS)
    return participant, callback


def dial_conference(call, el, noun, base, action, method):
    """`<Dial><Conference>`: join, stay until the call, the REST API or the room ends it, then go on."""
    registry = conferences(call.sim)
    name = (noun.text or "").strip()
    with registry.lock:
        room = registry.expected.pop(call.sid, None) or registry.room_named(name)
    participant, callback = participant_from_noun(call, noun, base)
    expected = room.participant(call.sid)
    if expected is not None and expected.label and not participant.label:
        participant.label = expected.label
    if noun.get("maxParticipants"):
        room.max_participants = max(2, min(int(twiml.number(noun, "maxParticipants", MAX_PARTICIPANTS)),
                                           MAX_PARTICIPANTS))
    joined = room.join(participant, callback)
    call.log("conference", name=name, conference_sid=room.sid, joined=joined)
    started = time.monotonic()
    outcome = _stay(call, room, participant) if joined else "full"
    pending = call.take_pending() or participant.redirect_to
    if joined and not participant.left.is_set():
        room.leave(call.sid, "participant_updated_via_api" if pending is not None else "participant_hung_up",
                   "in-progress" if pending is not None else "completed")
    call.log("conference_left", name=name, conference_sid=room.sid, outcome=outcome,
             reason=participant.left_reason)
    duration = int(round(call.sim.elapsed(started)))
    params = {"DialCallStatus": "completed" if joined else "failed", "ConferenceSid": room.sid,
              "DialCallDuration": str(duration)}
    if pending is not None:
        return pending
    return dial_ended(call, action, method, params)


def _stay(call, room: Room, participant: Participant) -> str:
    """The call in the room until it leaves: plays wait or hold music documents as its state says.
    A party that talks for a while (`call.talk_for`, a softphone's or a phone's) hangs up after that
    long in the room."""
    joined = participant.joined_at or time.monotonic()

    def talked_enough() -> bool:
        return call.talk_for is not None and call.sim.elapsed(joined) >= call.talk_for
    while True:
        if participant.left.is_set():
            return "left"
        if talked_enough() and not call.hung_up:
            call.log("caller_hangup", reason="talk_for")
            call.hang_up("caller")
        if call.hung_up:
            return "hangup"
        if call._pending is not None or participant.redirect_to is not None:
            return "interrupt"
        version = room.version
        what = room.what_hears(call.sid)

        def moved(v=version, w=what):
            return participant.left.is_set() or talked_enough() or (
                room.version != v and room.what_hears(call.sid) != w)
        if what == "wait-music":
            _music_loop(call, participant, participant.wait_url, participant.wait_method, moved, room)
        elif what == "hold-music":
            _music_loop(call, participant, participant.hold_url, participant.hold_method, moved, room)
        else:
            call.wait(None, until=moved)


def _music_loop(call, participant: Participant, url: str | None, method: str, moved, room: Room) -> None:
    """Play `url` (audio, or a TwiML document of Play/Say/Pause/Redirect, again and again) until `moved`."""
    ctx = {"until": moved}
    while not moved() and not call.hung_up and call._pending is None:
        started = time.monotonic()
        redirects = call.redirects        # before the fetch: a REST update that comes during it counts too
        if not url:
            call.wait(None, until=moved)
            return
        if is_music(url):
            verbs, doc = [ET.fromstring(f"<Play>{escape(url)}</Play>")], None
        else:
            fetched = call.fetch(url, method, allowed=WAIT_VERBS, where="a conference waitUrl",
                                 ConferenceSid=room.sid, FriendlyName=room.name)
            if fetched is None:
                call.wait(None, until=moved)              # a failing waitUrl: silence until something changes
                return
            verbs, doc = fetched
        for _ in range(10):
            result = call.run_document(verbs, doc, ctx)
            if call.redirects != redirects and result is not None and result is not END:
                participant.redirect_to = result          # a REST update the document's verb took
                return
            if result is END or call.hung_up:
                return
            if not (result and result[0] == "fetch") or moved() or call._pending is not None:
                break
            fetched = call.fetch(result[1], result[2], allowed=WAIT_VERBS, where="a conference waitUrl")
            if fetched is None:
                break
            verbs, doc = fetched
        if time.monotonic() - started < call.sim.real(0.2):
            call.wait(1.0, until=moved)                   # an empty document: do not spin
