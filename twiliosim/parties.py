"""The people on the line: scripted callers, softphone agents, phones that answer.

All times are in simulated seconds (the Simulator's `time_scale` turns them
into real ones).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Press:
    digits: str
    after: float = 0.5          # thinking time before pressing


@dataclass(frozen=True)
class Speak:
    text: str
    confidence: float = 0.92
    after: float = 0.5


@dataclass(frozen=True)
class Silence:
    """Say nothing: the Gather times out."""


@dataclass(frozen=True)
class Hangup:
    after: float = 0.0


@dataclass(frozen=True)
class RecordMessage:
    text: str = "Hello, please call me back."
    duration: float = 8.0
    hangup: bool = False        # hang up instead of pressing a finish key


@dataclass
class CallerScript:
    """What a caller does: inputs for each Gather in order, patience in the queue,
    keys pressed while holding, how long they talk, the message they leave."""
    inputs: list = field(default_factory=list)          # Press/Speak/Silence/Hangup, one per Gather
    patience: float | None = None                       # seconds in a queue before hanging up
    hold_keys: list[tuple[float, str]] = field(default_factory=list)  # (after s in queue, digits)
    talk_for: float | None = None                       # hang up after talking this long
    hangup_after: float | None = None                   # hang up this long after the call starts
    message: RecordMessage | None = None                # what to say when a <Record> listens
    answer_after: float = 0.0                           # for calls placed to this caller
    answers: bool = True

    def __post_init__(self):
        self._inputs = list(self.inputs)
        self._lock = threading.Lock()

    def next_input(self):
        with self._lock:
            return self._inputs.pop(0) if self._inputs else Silence()

    def hold_key(self, waited: float) -> tuple[float, str] | None:
        """The next key press due during hold, as (seconds from now, digits)."""
        with self._lock:
            if not self.hold_keys:
                return None
            after, digits = self.hold_keys[0]
            return max(0.0, after - waited), digits

    def used_hold_key(self) -> None:
        with self._lock:
            if self.hold_keys:
                self.hold_keys.pop(0)


@dataclass
class Softphone:
    """A browser softphone registered as a <Client> identity."""
    identity: str
    answer_after: float | None = 1.0       # None: rings out, never answers
    reject: bool = False                   # decline (busy) instead of answering
    talk_for: float | None = 5.0           # hang up after this long (None: wait for the caller)
    rings: list[dict] = field(default_factory=list)     # every call offered: sid, from, at, outcome
    registered: bool = True

    def ring(self, call_sid: str, from_: str, at: float) -> dict:
        entry = {"call_sid": call_sid, "from": from_, "at": at, "outcome": "ringing"}
        self.rings.append(entry)
        return entry


@dataclass
class Phone:
    """A PSTN number the simulator can ring (for <Dial><Number> and REST calls)."""
    number: str
    answer_after: float | None = 2.0       # None: no answer
    busy: bool = False
    talk_for: float | None = 10.0
    script: CallerScript | None = None     # the person who answers, for REST-created calls
