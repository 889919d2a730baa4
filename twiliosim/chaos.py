"""Twilio's delivery model, on purpose: webhooks that come late, cross, repeat or never come.

Twilio makes each callback its own HTTP request. Status callbacks (the call's and each <Dial> leg's)
are sent as events happen, on their own, and are never retried: they can arrive after a later one,
twice (a proxy or a retrying network in between), or not at all. An action request (a Gather's, a
Dial's, an Enqueue's) can be slow to leave and can cross the call's own hang-up. A TwiML request
that gets no answer within 15 s is given up (error 11205) and the fallback URL is asked instead,
although the service may well have acted on it.

    sim = Simulator(sid, token, chaos=Chaos(delay=0.3, repeat=0.1, drop=0.05, timeout=0.02))

With `Chaos()` nothing changes (every probability 0). The simulator draws from one seeded random
generator, so a run's faults repeat with the same seed and the same order of events; `ChaosLog`
counts what was done (the load report shows it).
"""
from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

DEFAULTS = {"delay": 0.3, "repeat": 0.1, "drop": 0.05, "timeout": 0.02}


@dataclass(frozen=True)
class Chaos:
    delay: float = 0.0          # P(a status callback or an action request is late)
    max_delay_s: float = 3.0    # simulated seconds; a late one comes uniformly within this
    repeat: float = 0.0         # P(a request is sent twice)
    drop: float = 0.0           # P(a status callback is never sent): status callbacks only, as Twilio
    timeout: float = 0.0        # P(a TwiML request's answer is given up as too slow -> the fallback URL)
    seed: int | str = 1

    def __post_init__(self):
        for name in ("delay", "repeat", "drop", "timeout"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"chaos {name} is a probability in [0, 1], not {value!r}")
        if self.max_delay_s < 0:
            raise ValueError("chaos max_delay_s must not be negative")

    @property
    def active(self) -> bool:
        return any((self.delay, self.repeat, self.drop, self.timeout))

    @classmethod
    def default(cls, seed: int | str = 1, **overrides) -> "Chaos":
        """The mix `--chaos` turns on: late 30 %, repeated 10 %, dropped 5 %, timed out 2 %."""
        return cls(**{**DEFAULTS, **overrides}, seed=seed)


@dataclass
class ChaosLog:
    """What the chaos did, by kind: status callbacks (`status`) and TwiML requests (`twiml`)."""
    delayed: dict[str, int] = field(default_factory=lambda: {"status": 0, "twiml": 0})
    repeated: dict[str, int] = field(default_factory=lambda: {"status": 0, "twiml": 0})
    dropped: int = 0
    timed_out: int = 0
    after_hangup: int = 0       # TwiML requests that left after the caller hung up (their answer moot)

    def as_dict(self) -> dict:
        return {"delayed": dict(self.delayed), "repeated": dict(self.repeated), "dropped": self.dropped,
                "timed_out": self.timed_out, "after_hangup": self.after_hangup}


class ChaosDice:
    """The chaos of one simulator: draws under a lock (calls run in threads) and counts."""

    def __init__(self, chaos: Chaos):
        self.chaos = chaos
        self.log = ChaosLog()
        self._rng = random.Random(f"chaos:{chaos.seed}")
        self._lock = threading.Lock()

    def _draw(self, p: float) -> bool:
        if p <= 0:
            return False
        with self._lock:
            return self._rng.random() < p

    def _delay(self) -> float:
        with self._lock:
            return self._rng.uniform(0.0, self.chaos.max_delay_s)

    def status_plan(self) -> list[float] | None:
        """For one status callback: None to drop it, else the delays (simulated seconds) of each send."""
        if self._draw(self.chaos.drop):
            with self._lock:
                self.log.dropped += 1
            return None
        return self._plan("status")

    def twiml_plan(self) -> list[float]:
        """For one TwiML request: the delays of each send; the first send's answer is the one used."""
        return self._plan("twiml")

    def _plan(self, kind: str) -> list[float]:
        first = self._delay() if self._draw(self.chaos.delay) else 0.0
        sends = [first]
        if self._draw(self.chaos.repeat):
            sends.append(first + self._delay())
        with self._lock:
            self.log.delayed[kind] += first > 0
            self.log.repeated[kind] += len(sends) > 1
        return sends

    def times_out(self) -> bool:
        if self._draw(self.chaos.timeout):
            with self._lock:
                self.log.timed_out += 1
            return True
        return False

    def after_hangup(self) -> None:
        with self._lock:
            self.log.after_hangup += 1
