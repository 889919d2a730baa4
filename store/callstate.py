"""Live calls in Redis: where each call is in its flow and every step it took.

A call hash (`Keys.call`) holds the flow, current node, caller, CRM fields
for greetings, gather tries and outcome; a list (`Keys.journey`) holds the
journey as JSON steps. They live while the call does and a day after it
ends, long enough for late callbacks (transcriptions) and the record job.
"""
from __future__ import annotations

import json
from pathlib import Path

import redis

from store.keys import Keys

LIVE_TTL_S = 6 * 3600        # refreshed on every step; a call longer than this is unheard of
ENDED_TTL_S = 24 * 3600
RECORD_GRACE_S = 60          # the record job writes it first; the sweeper only after this
CONTACT_FIELDS = ("first_name", "last_name", "name", "company", "tier")
_LUA = Path(__file__).with_name("lua")


class CallState:
    def __init__(self, r: redis.Redis, keys: Keys):
        self.r = r
        self.keys = keys
        self._apply = r.register_script((_LUA / "apply_turn.lua").read_text())
        self._end = r.register_script((_LUA / "end_call.lua").read_text())

    def load(self, sid: str) -> dict[str, str] | None:
        raw = self.r.hgetall(self.keys.call(sid))
        return {k.decode(): v.decode() for k, v in raw.items()} if raw else None

    def load_for_step(self, sid: str, node: str) -> dict[str, str] | None:
        """Only what an IVR step needs (the call hash grows with routing fields)."""
        names = ("flow", "from", "to", "status", "country", *(f"contact_{n}" for n in CONTACT_FIELDS), f"tries:{node}")
        values = self.r.hmget(self.keys.call(sid), names)
        if values[0] is None:
            return None
        return {name: v.decode() for name, v in zip(names, values, strict=True) if v is not None}

    def apply(self, sid: str, steps: list[dict], state: dict, now: float, new_call: dict | None = None,
              must_exist: bool = False) -> int:
        """Append journey steps and set call fields, atomically, in one round trip. `new_call`
        holds the fields a call starts with (ignored when it exists already). Returns 1 when the
        call was new, 0 when it existed, -1 when `must_exist` and it did not (nothing written)."""
        script, keys, args = self.apply_call(sid, steps, state, now, new_call, must_exist)
        return int(script(keys=keys, args=args))

    def apply_call(self, sid: str, steps: list[dict], state: dict, now: float, new_call: dict | None = None,
                   must_exist: bool = False, at_node: str = "", turn: str = "") -> tuple:
        """`apply` as (script, keys, args), to run in one round trip with another script. `at_node`:
        the node the request answers; a call that has left it makes the request stale (-2, nothing
        written). `turn`: the request's token, kept for the ACD's hand-over (see apply_turn.lua)."""
        encoded = [json.dumps({**s, "at": round(now, 3)}, ensure_ascii=False) for s in steps]
        created = [str(x) for kv in (new_call or {}).items() if kv[1] is not None for x in kv]
        flat = [str("" if x is None else x) for kv in state.items() for x in kv]
        caller = self.keys.caller_calls((new_call or {}).get("from") or "")
        return (self._apply, [self.keys.call(sid), self.keys.journey(sid), self.keys.open_calls(), caller],
                [LIVE_TTL_S, "1" if must_exist else "0", at_node, turn, sid, round(now, 3), len(encoded), *encoded,
                 len(created) // 2, *created, *flat])

    def end(self, sid: str, call_status: str, duration: str | None, now: float, day: str = "") -> str | None:
        """Mark the call ended and put it in the records outbox (`Keys.records_pending`), in one step;
        the outcome when this call ended it, else None (unknown or repeat). `day` (YYYYMMDD in the
        contact center's zone) names the counters it adds to."""
        outcome = self._end(keys=[self.keys.call(sid), self.keys.journey(sid), self.keys.ivr_stats(day),
                                  self.keys.records_pending(), self.keys.open_calls()],
                            args=[round(now, 3), call_status, duration or "", ENDED_TTL_S,
                                  round(now + RECORD_GRACE_S, 3), sid])
        return outcome.decode() if outcome else None

    def segments(self, sid: str) -> list[dict]:
        """The parts of a connected call (Keys.segments): talks, holds, consults, transfers, wrap-ups."""
        return [json.loads(x) for x in self.r.lrange(self.keys.segments(sid), 0, -1)]

    def journey(self, sid: str) -> list[dict]:
        return [json.loads(x) for x in self.r.lrange(self.keys.journey(sid), 0, -1)]
