"""Conferences: `<Dial><Conference>` rooms, their participants, the conference status
callbacks, and an audio model that says who hears whom.

A room is named per account by its FriendlyName; a new room (a new CF SID) opens when a
call dials a name whose room has ended. Its states are Twilio's: `init` until a participant
with startConferenceOnEnter=true joins, `in-progress`, `completed` when a participant with
endConferenceOnExit=true leaves, the last participant leaves, or the REST API ends it.

The audio model follows Twilio's rules:
- a participant on hold hears hold music (its HoldUrl) and nobody hears it;
- a muted participant hears the others and nobody hears it;
- a coaching participant (coach = CallSidToCoach) hears everyone and is heard only by the
  coached call;
- before the conference starts, its participants hear the waitUrl music (silence with
  waitUrl="") and nobody hears anybody;
- everyone else hears every unmuted, unheld, non-coaching participant but themselves.
`Room.who_hears(speaker)` and `Room.what_hears(call_sid)` answer for now; `Room.timeline`
records every change (who heard whom, when) so tests can ask afterwards (`Room.heard`).
Each call's transcript gets a `conference_audio` entry when what it hears changes.

Status callbacks go to the first participant's statusCallback that names one (Twilio keeps
the conference's callback from the participant that set it first), for the events its
statusCallbackEvent chose (`start end join leave mute hold modify speaker announcement`,
default `start end`), signed, in SequenceNumber order, through the simulator's webhook
delivery (and its chaos: late, repeated or dropped, as the calls' own status callbacks).

The TwiML side, the `<Conference>` noun, is conference_noun.py.

Long because a room's participants, its status callbacks and its audio model change together,
under the registry's lock, and read best as one class.

Not checked offline: the exact `ReasonParticipantLeft` values beyond `participant_hung_up`
and the order Twilio sends `participant-join` and `conference-start` in (join first here).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from .signing import new_sid

DEFAULT_WAIT_URL = "http://twimlets.com/holdmusic?Bucket=com.twilio.music.classical"
DEFAULT_HOLD_URL = DEFAULT_WAIT_URL
DEFAULT_EVENTS = ("start", "end")
TWIML_EVENTS = ("start", "end", "join", "leave", "mute", "hold", "modify", "speaker", "announcement")
# Which TwiML event name lets which StatusCallbackEvent through.
EVENT_FILTER = {"conference-start": "start", "conference-end": "end", "participant-join": "join",
                "participant-leave": "leave", "participant-mute": "mute", "participant-unmute": "mute",
                "participant-hold": "hold", "participant-unhold": "hold", "participant-modify": "modify",
                "announcement-end": "announcement", "announcement-fail": "announcement"}
WAIT_VERBS = frozenset({"Play", "Say", "Pause", "Redirect"})
MAX_PARTICIPANTS = 250
LIVE = ("queued", "connecting", "ringing", "connected")


def is_music(url: str | None) -> bool:
    """A URL Twilio plays as audio (or the default twimlet, which the simulator does not fetch)."""
    lowered = (url or "").split("?")[0].lower()
    return lowered.endswith((".mp3", ".wav", ".aiff", ".gsm", ".ulaw")) or "twimlets.com/holdmusic" in (url or "")


@dataclass
class Participant:
    call: object                               # the SimCall
    muted: bool = False
    hold: bool = False
    coaching: bool = False
    call_sid_to_coach: str | None = None
    start_on_enter: bool = True
    end_on_exit: bool = False
    beep: str = "true"                         # true / false / onEnter / onExit
    wait_url: str | None = DEFAULT_WAIT_URL    # "" is silence
    wait_method: str = "POST"
    hold_url: str | None = DEFAULT_HOLD_URL
    hold_method: str = "GET"
    label: str | None = None
    status: str = "connected"                  # participant_enum_status
    bridged: bool = False                      # has heard another party (logged `bridged`, as a <Dial> is)
    created: float = field(default_factory=time.monotonic)
    updated: float = field(default_factory=time.monotonic)
    joined_at: float | None = None
    left_at: float | None = None
    left_reason: str | None = None
    left: threading.Event = field(default_factory=threading.Event)
    announcements: list = field(default_factory=list)
    redirect_to: tuple | None = None           # a REST update a music document's verb took while waiting

    @property
    def call_sid(self) -> str:
        return self.call.sid

    @property
    def connected(self) -> bool:
        return self.status == "connected"


class _Sender:
    """What `Simulator.webhook` needs of a call: a session (cookies) and a log."""

    def __init__(self, room: "Room"):
        self.session = room.sim.http_session()
        self.room = room

    def log(self, event: str, **fields) -> None:
        self.room.log(event, **fields)


class Room:
    def __init__(self, registry: "Conferences", name: str):
        self.registry, self.sim = registry, registry.sim
        self.sid = new_sid("CF")
        self.name = name
        self.status = "init"
        self.created = self.updated = time.monotonic()
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.reason_ended: str | None = None
        self.call_sid_ending: str | None = None
        self.region = "us1"
        self.max_participants = MAX_PARTICIPANTS
        self.participants: dict[str, Participant] = {}   # live (queued, ringing, connected), by CallSid
        self.former: list[Participant] = []              # those that left
        self.callback: tuple[str, str, tuple[str, ...]] | None = None     # url, method, events
        self.callbacks: list[dict] = []                  # every status callback: event, params, http, problem
        self.timeline: list[dict] = []                   # audio snapshots: t, why, hears, what
        self.events_log: list[dict] = []
        self.version = 0                                 # bumped on every change (calls wake on it)
        self.lock = threading.RLock()
        self._seq = 0
        self._outbox: list[tuple[str, dict]] = []
        self._send_lock = threading.Lock()
        self._sender: _Sender | None = None
        self._audio: dict[str, tuple] = {}               # per call: (what, hears) last logged

    # -- what tests read ----------------------------------------------------------------
    def log(self, event: str, **fields) -> None:
        with self.lock:
            self.events_log.append({"t": round(self.sim.elapsed(self.created), 3), "event": event, **fields})

    def connected(self) -> list[Participant]:
        with self.lock:
            return [p for p in self.participants.values() if p.connected]

    def participant(self, call_sid: str) -> Participant | None:
        with self.lock:
            found = self.participants.get(call_sid)
            if found is None:
                found = next((p for p in self.participants.values() if p.label and p.label == call_sid), None)
            return found

    def who_hears(self, speaker_call_sid: str) -> set[str]:
        """The calls that hear `speaker_call_sid` now."""
        with self.lock:
            speaker = self.participants.get(speaker_call_sid)
            if self.status != "in-progress" or speaker is None or not speaker.connected \
                    or speaker.hold or speaker.muted:
                return set()
            listeners = {p.call_sid for p in self.participants.values()
                         if p.connected and not p.hold and p.call_sid != speaker_call_sid}
            if speaker.coaching and speaker.call_sid_to_coach:
                return listeners & {speaker.call_sid_to_coach}
            return listeners

    def what_hears(self, call_sid: str) -> str:
        """`conference`, `hold-music`, `wait-music` or `silence` for the call `call_sid`."""
        with self.lock:
            p = self.participants.get(call_sid)
            if p is None or not p.connected or self.status == "completed":
                return "silence"
            if p.hold:
                return "hold-music" if p.hold_url != "" else "silence"
            if self.status == "init":
                return "wait-music" if p.wait_url != "" else "silence"
            return "conference"

    def hears(self, listener_call_sid: str) -> set[str]:
        """The calls `listener_call_sid` hears now."""
        with self.lock:
            return {p.call_sid for p in self.participants.values() if listener_call_sid in self.who_hears(p.call_sid)}

    def heard(self, listener: str, speaker: str) -> bool:
        """Whether `listener` ever heard `speaker` in this room (from the timeline)."""
        with self.lock:
            return any(speaker in snap["hears"].get(listener, ()) for snap in self.timeline)

    def audio_of(self, call_sid: str) -> list[tuple[float, str, tuple[str, ...]]]:
        """(t, what, whom) each time what `call_sid` hears changed."""
        out, last = [], None
        with self.lock:
            for snap in self.timeline:
                now = (snap["what"].get(call_sid, "silence"), snap["hears"].get(call_sid, ()))
                if now != last:
                    out.append((snap["t"], *now))
                    last = now
        return out

    # -- changes ---------------------------------------------------------------------------
    def _changed(self, why: str) -> None:
        """Under the lock: record the audio now, log each call whose audio changed, wake the calls."""
        self.version += 1
        self.updated = time.monotonic()
        every = list(self.participants.values()) + [p for p in self.former if p.call_sid in self._audio]
        hears = {p.call_sid: tuple(sorted(self.hears(p.call_sid))) for p in self.participants.values()}
        what = {p.call_sid: self.what_hears(p.call_sid) for p in self.participants.values()}
        self.timeline.append({"t": round(self.sim.elapsed(), 3), "why": why, "hears": hears, "what": what})
        for p in every:
            heard = hears.get(p.call_sid, ())
            if heard and not p.bridged and p.call_sid in self.participants:
                # the first time a party hears another: bridged, as a <Dial> logs it (load results read it)
                p.bridged = True
                other = self.participants.get(heard[0])
                p.call.log("bridged", to=other.call.to if other else None, conference=self.name)
            now = (what.get(p.call_sid, "silence"), hears.get(p.call_sid, ()))
            if self._audio.get(p.call_sid) != now:
                self._audio[p.call_sid] = now
                p.call.log("conference_audio", conference=self.name, conference_sid=self.sid, what=now[0],
                           hears=list(now[1]), why=why)
        for p in every:
            p.call.wake()

    def _event(self, event: str, p: Participant | None = None, **extra) -> None:
        """Under the lock: queue a status callback if the room's callback asked for `event`."""
        self.log(event, call_sid=p.call_sid if p else None, **extra)
        if self.callback is None or EVENT_FILTER.get(event) not in self.callback[2]:
            return
        params = {"ConferenceSid": self.sid, "FriendlyName": self.name, "AccountSid": self.sim.account_sid,
                  "StatusCallbackEvent": event, "SequenceNumber": str(self._seq),
                  "Timestamp": time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())}
        self._seq += 1
        if p is not None:
            params.update({"CallSid": p.call_sid, "Muted": _tf(p.muted), "Hold": _tf(p.hold),
                           "Coaching": _tf(p.coaching), "EndConferenceOnExit": _tf(p.end_on_exit),
                           "StartConferenceOnEnter": _tf(p.start_on_enter)})
            if p.coaching and p.call_sid_to_coach:
                params["CallSidToCoach"] = p.call_sid_to_coach
            if p.label:
                params["ParticipantLabel"] = p.label
        params.update({k: str(v) for k, v in extra.items() if v is not None})
        self._outbox.append((event, params))

    def _flush(self) -> None:
        """Send the queued callbacks, outside the room's lock, in SequenceNumber order, one sender at a
        time. A thread that finds another sending leaves its callbacks to it and goes on: the service's
        answer to a callback may itself change the room over REST (Twilio's callbacks never wait for
        each other that way); the sender looks at the outbox again after letting go."""
        while True:
            if not self._send_lock.acquire(blocking=False):
                return
            try:
                while True:
                    with self.lock:
                        if not self._outbox or self.callback is None:
                            self._outbox.clear()
                            break
                        event, params = self._outbox.pop(0)
                        url, method = self.callback[0], self.callback[1]
                    self._deliver(url, method, event, params)
            finally:
                self._send_lock.release()
            with self.lock:
                if not self._outbox:
                    return

    def _deliver(self, url: str, method: str, event: str, params: dict) -> None:
        dice = self.sim.chaos
        if dice is None:
            self._send(url, method, event, params)
            return
        plan = dice.status_plan()
        if plan is None:
            with self.lock:
                self.callbacks.append({"event": event, "params": params, "dropped": True})
            return
        for n, delay in enumerate(plan):
            self.sim.deliver_later(delay, self._send, url, method, event, params, n > 0)

    def _send(self, url: str, method: str, event: str, params: dict, repeat: bool = False) -> None:
        if self._sender is None:
            self._sender = _Sender(self)
        response, problem = self.sim.webhook(self._sender, url, method, params, twiml_expected=False)
        with self.lock:
            self.callbacks.append({"event": event, "params": params, "http": getattr(response, "status_code", None),
                                   "problem": problem, **({"repeat": True} if repeat else {})})

    # -- joining and leaving ------------------------------------------------------------------
    def expect(self, participant: Participant) -> None:
        """A participant the REST API is dialing (status queued until its call joins)."""
        with self.lock:
            participant.status = "queued"
            self.participants[participant.call_sid] = participant

    def join(self, participant: Participant, callback: tuple[str, str, tuple[str, ...]] | None = None) -> bool:
        """The call enters; False if the room is over or full."""
        with self.lock:
            if self.status == "completed" or len(self.connected()) >= self.max_participants:
                self.participants.pop(participant.call_sid, None)
                return False
            if self.callback is None and callback is not None:
                self.callback = callback
            participant.status = "connected"
            participant.joined_at = participant.updated = time.monotonic()
            self.participants[participant.call_sid] = participant
            self._event("participant-join", participant)
            if participant.beep in ("true", "onEnter"):
                self._beep("enter", participant)
            if self.status == "init" and participant.start_on_enter:
                self.status = "in-progress"
                self.started_at = time.monotonic()
                self._event("conference-start")
            self._changed("join")
        self._flush()
        return True

    def _beep(self, why: str, who: Participant) -> None:
        for p in self.connected():
            if p is not who and not p.hold:
                p.call.log("beep", conference=self.name, why=why, of=who.call_sid)

    def leave(self, call_sid: str, reason: str = "participant_hung_up", call_status: str = "completed") -> bool:
        """The participant leaves (hung up, removed, redirected); the room may end with it."""
        with self.lock:
            p = self.participants.pop(call_sid, None)
            if p is None:
                return False
            was_connected = p.connected
            p.status = "complete" if was_connected else "failed"
            p.left_at, p.left_reason = time.monotonic(), reason
            self.former.append(p)
            if p.bridged:
                p.call.log("unbridged", conference=self.name, reason=reason)
            if was_connected:
                self._event("participant-leave", p, ReasonParticipantLeft=reason, ParticipantCallStatus=call_status)
                if p.beep in ("true", "onExit"):
                    self._beep("exit", p)
            p.left.set()
            ending = None
            if was_connected and p.end_on_exit and self.status != "completed":
                ending = "participant-with-end-conference-on-exit-" + (
                    "kicked" if reason == "participant_removed_via_api" else "left")
            elif was_connected and not self.connected() and self.status != "completed":
                ending = "last-participant-" + ("kicked" if reason == "participant_removed_via_api" else "left")
            if ending:
                self._end(ending, call_sid)
            else:
                self._changed("leave")
        self._flush()
        return True

    def end(self, reason: str = "conference-ended-via-api", by: str | None = None) -> None:
        with self.lock:
            if self.status == "completed":
                return
            self._end(reason, by)
        self._flush()

    def _end(self, reason: str, by: str | None) -> None:
        """Under the lock: everyone still here leaves; the room is completed."""
        left_reason = "conference_ended_via_api" if reason == "conference-ended-via-api" \
            else reason.replace("-", "_")
        for p in list(self.participants.values()):
            self.participants.pop(p.call_sid)
            was_connected = p.connected
            p.status = "complete" if was_connected else "failed"
            p.left_at, p.left_reason = time.monotonic(), left_reason
            self.former.append(p)
            if p.bridged:
                p.call.log("unbridged", conference=self.name, reason=left_reason)
            if was_connected:
                self._event("participant-leave", p, ReasonParticipantLeft=left_reason,
                            ParticipantCallStatus="in-progress")
            p.left.set()
        self.status = "completed"
        self.ended_at = time.monotonic()
        self.reason_ended, self.call_sid_ending = reason, by
        self._event("conference-end", ReasonConferenceEnded=reason, CallSidEndingConference=by)
        self._changed("end")

    def update(self, call_sid: str, *, muted: bool | None = None, hold: bool | None = None,
               hold_url: str | None = None, hold_method: str | None = None, coaching: bool | None = None,
               call_sid_to_coach: str | None = None, end_on_exit: bool | None = None,
               beep_on_exit: bool | None = None, wait_url: str | None = None, wait_method: str | None = None,
               announce_url: str | None = None) -> Participant | None:
        """A REST update of one participant, with its mute/hold/modify events."""
        with self.lock:
            p = self.participant(call_sid)
            if p is None:
                return None
            if hold_url is not None:
                p.hold_url = hold_url
            if hold_method is not None:
                p.hold_method = hold_method
            if wait_url is not None:
                p.wait_url = wait_url
            if wait_method is not None:
                p.wait_method = wait_method
            if end_on_exit is not None:
                p.end_on_exit = end_on_exit
            if beep_on_exit is not None:
                p.beep = ("true" if p.beep in ("true", "onEnter") else "onExit") if beep_on_exit else \
                    ("onEnter" if p.beep in ("true", "onEnter") else "false")
            if announce_url:
                p.announcements.append(announce_url)
                p.call.log("announcement", conference=self.name, url=announce_url)
            changed = []
            if muted is not None and muted != p.muted:
                p.muted = muted
                changed.append("participant-mute" if muted else "participant-unmute")
            if hold is not None and hold != p.hold:
                p.hold = hold
                changed.append("participant-hold" if hold else "participant-unhold")
            if coaching is not None or call_sid_to_coach is not None:
                new_coaching = p.coaching if coaching is None else coaching
                new_target = call_sid_to_coach or p.call_sid_to_coach
                if (new_coaching, new_target) != (p.coaching, p.call_sid_to_coach):
                    p.coaching, p.call_sid_to_coach = new_coaching, new_target
                    changed.append("participant-modify")
            p.updated = time.monotonic()
            if p.connected:
                for event in changed:
                    self._event(event, p)
            self._changed(",".join(changed) or "update")
        self._flush()
        return p


def _tf(value: bool) -> str:
    return "true" if value else "false"


class Conferences:
    """The account's conference rooms (all of them, ended ones too, oldest first)."""

    def __init__(self, sim):
        self.sim = sim
        self.rooms: dict[str, Room] = {}
        self.expected: dict[str, Room] = {}              # CallSid -> the room a REST-created participant joins
        self.lock = threading.RLock()

    def live_named(self, name: str) -> Room | None:
        with self.lock:
            return next((r for r in reversed(list(self.rooms.values()))
                         if r.name == name and r.status != "completed"), None)

    def room_named(self, name: str) -> Room:
        """The live room called `name`, or a new one."""
        with self.lock:
            room = self.live_named(name)
            if room is None:
                room = Room(self, name)
                self.rooms[room.sid] = room
            return room

    def by_sid(self, sid: str) -> Room | None:
        with self.lock:
            return self.rooms.get(sid)

    def room_of(self, call_sid: str) -> Room | None:
        """The live room the call is a participant of."""
        with self.lock:
            rooms = list(self.rooms.values())
        return next((r for r in rooms if call_sid in r.participants), None)

    def what_hears(self, call_sid: str) -> str:
        room = self.room_of(call_sid)
        return room.what_hears(call_sid) if room is not None else "silence"


def conferences(sim) -> Conferences:
    """The simulator's conference registry (made on first use)."""
    registry = getattr(sim, "conferences", None)
    if registry is None:
        with sim._lock:
            registry = getattr(sim, "conferences", None)
            if registry is None:
                registry = sim.conferences = Conferences(sim)
    return registry


def who_hears(room: Room, speaker_call_sid: str) -> set[str]:
    return room.who_hears(speaker_call_sid)


def what_hears(sim, call_sid: str) -> str:
    return conferences(sim).what_hears(call_sid)


# -- the TwiML noun ---------------------------------------------------------------------------


def talked_with(sim, call_sid: str) -> list[str]:
    """The `To` of every call that `call_sid` heard in any conference, in the order they joined: who
    a caller talked with (`client:bob`), for tests that ask afterwards."""
    heard: list[str] = []
    for room in list(conferences(sim).rooms.values()):
        with room.lock:
            every = list(room.former) + list(room.participants.values())
        if not any(p.call_sid == call_sid for p in every):
            continue
        for p in every:
            if p.call_sid != call_sid and room.heard(call_sid, p.call_sid) and p.call.to not in heard:
                heard.append(p.call.to)
    return heard
