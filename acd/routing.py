"""The ACD's operations, each one Lua script: callers enter and leave queues,
offers are accepted, rejected or time out, agents connect, talk and wrap up.

Every operation that frees capacity or adds a caller routes at once inside
its script and returns the offers it made, so nothing waits for a poll.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import redis

from .scripts import Scripts

# A claimed timer comes back for another ticker this long after its ticker died without handling it
# (acd/lua/claim_timers.lua): a dead worker's offer times out at most this late. Longer than a tick's
# batch takes (a slow Twilio in an overflow), or its timers are handled twice, harmlessly but twice.
TIMER_LEASE_S = 5


@dataclass(frozen=True)
class Offer:
    reservation_id: str
    call_sid: str
    agent_id: str


def offers_from(flat) -> list[Offer]:
    flat = [x.decode() if isinstance(x, bytes) else x for x in flat]
    return [Offer(*flat[i:i + 3]) for i in range(0, len(flat) - 2, 3)]


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Router:
    def __init__(self, scripts: Scripts):
        self.scripts = scripts

    def enqueue(self, call_sid: str, fields: dict, timers: list[tuple[str, float]], now: datetime,
                from_number: str = "", preferred_wait_s: float = 0) -> tuple[str, list[Offer]]:
        """('queued', offers) | ('already' | 'nobody' | 'unknown' | 'ended' | 'stale', []): see enqueue_call.lua."""
        script, keys, args = self.enqueue_call(call_sid, fields, timers, now, from_number, preferred_wait_s)
        return self.enqueued(script(keys=keys, args=args))

    def enqueue_call(self, call_sid: str, fields: dict, timers: list[tuple[str, float]], now: datetime,
                     from_number: str = "", preferred_wait_s: float = 0, turn: str = "") -> tuple:
        return self.scripts.call("enqueue_call", now, call_sid, json.dumps(fields),
                                 json.dumps([[m, round(t, 3)] for m, t in timers]), from_number, preferred_wait_s,
                                 turn, self.scripts.deadline())

    @staticmethod
    def enqueued(result) -> tuple[str, list[Offer]]:
        if _text(result[0]) == "late":       # Redis ran it after we stopped waiting (enqueue_call.lua)
            raise redis.TimeoutError("the router ran the hand-over after its deadline; nothing was done")
        return _text(result[0]), offers_from(result[1:])

    def answer(self, reservation_id: str, how: str, now: datetime,
               agent_id: str = "") -> tuple[bool, str | None, list[Offer]]:
        """accept / reject / timeout: (won, call sid, offers made by re-routing). An accept after the
        deadline loses and is the offer's timeout: (False, call sid, offers made by re-routing)."""
        if how not in ("accept", "reject", "timeout"):
            raise ValueError(how)
        code, sid, rest = self.answer_offer(reservation_id, how, now, agent_id)
        return code in (1, 3), sid, ([] if code == 3 else offers_from(rest))

    def answer_offer(self, reservation_id: str, how: str, now: datetime,
                     agent_id: str = "") -> tuple[int, str | None, list]:
        """(code, call sid, the rest) of answer_offer.lua: 1 accepted, 2 too late, 0 gone, 3 an offer to
        join a call accepted (rest: role, transfer id), 4 one rejected or timed out (rest: offers made)."""
        result = self.scripts.run("answer_offer", now, reservation_id, how, agent_id)
        if not result or int(result[0]) == 0:
            return 0, None, []
        return int(result[0]), _text(result[1]), [_text(x) for x in result[2:]]

    def call_gone(self, call_sid: str, now: datetime) -> tuple[str, list[Offer]]:
        result = self.scripts.run("call_gone", now, call_sid)
        return _text(result[0]), offers_from(result[1:])

    def set_status(self, agent_id: str, status: str, now: datetime, by: str = "", reason: str = ""
                   ) -> tuple[int, str, list[Offer]]:
        """`by`: who asked, when not the agent; `reason`: the break's (see set_agent_status.lua)."""
        result = self.scripts.run("set_agent_status", now, agent_id, status, by, reason)
        return int(result[0]), _text(result[1]), offers_from(result[2:])

    def assign(self, call_sid: str, agent_id: str, by: str, now: datetime) -> tuple[str | None, str | None]:
        """(reservation id, None) offered to the agent, or (None, why): see assign_call.lua."""
        result = self.scripts.run("assign_call", now, call_sid, agent_id, by)
        return (_text(result[1]), None) if int(result[0]) == 1 else (None, _text(result[1]))

    def end_wrapup(self, agent_id: str, call_sid: str, now: datetime) -> tuple[str | None, list[Offer]]:
        result = self.scripts.run("end_wrapup", now, agent_id, call_sid)
        if int(result[0]) == 0:
            return None, []
        return _text(result[1]), offers_from(result[2:])

    def connected(self, call_sid: str, now: datetime, rid: str = "") -> bool:
        return int(self.scripts.run("connected", now, call_sid, rid)) == 1

    def talk_ended(self, call_sid: str, now: datetime) -> bool:
        return int(self.scripts.run("talk_ended", now, call_sid)) == 1

    def dial_completed(self, call_sid: str, talk_s: float | None, now: datetime, rid: str = "") -> bool:
        """The agent's Dial ended after a talk of `talk_s` (None: unknown): see dial_completed.lua."""
        return int(self.scripts.run("dial_completed", now, call_sid, "" if talk_s is None else talk_s, rid)) == 1

    def dial_failed(self, call_sid: str, now: datetime, rid: str = "", *, service_fault: bool = False
                    ) -> tuple[bool, list[Offer]]:
        """(whether the caller is back in line, offers made): see dial_failed.lua. `service_fault`: the
        service could not connect the call (no miss for the agent)."""
        result = self.scripts.run("dial_failed", now, call_sid, rid, "1" if service_fault else "0")
        return int(result[0]) == 1, offers_from(result[1:])

    def escalate(self, call_sid: str, requirements: dict[str, int], reqkey: str, now: datetime) -> list[Offer]:
        result = self.scripts.run("escalate", now, call_sid, json.dumps(requirements), reqkey)
        return offers_from(result[1:])

    def leave_queue(self, call_sid: str, outcome: str, now: datetime) -> bool:
        return int(self.scripts.run("leave_queue", now, call_sid, outcome)) == 1

    def reroute(self, now: datetime, calls=(), agents=()) -> list[Offer]:
        calls = list(calls)
        return offers_from(self.scripts.run("reroute", now, len(calls), *calls, *agents))

    def overflow_stranded(self, now: datetime) -> list[str]:
        """Waiting callers whom nobody logged in could serve any more leave their queue (see
        overflow_stranded.lua): their call sids, for the service to send to the overflow node."""
        return [_text(x) for x in self.scripts.run("overflow_stranded", now)]

    def rebuild_index(self, now: datetime) -> tuple[int, int]:
        """Rebuild the reqheads index from the waiting lines (see rebuild_index.lua):
        (requirement sets indexed, sets dropped for having no callers)."""
        r, pattern = self.scripts.redis, self.scripts.keys.reqheads_pattern()
        lists = sorted({_text(k) for k in r.scan_iter(match=pattern, count=1000)})
        indexed, dropped = self.scripts.run("rebuild_index", now, *lists)
        return int(indexed), int(dropped)

    def claim_timers(self, now: datetime, limit: int = 500, lease_s: float = TIMER_LEASE_S) -> list[str]:
        """The due timers, leased to this ticker: due again after `lease_s` unless acked."""
        return [_text(x) for x in self.scripts.run("claim_timers", now, limit, lease_s)]

    def ack_timers(self, members: list[str], now: datetime, lease_s: float = TIMER_LEASE_S) -> int:
        """The timers claimed at `now` are handled: they go (those claimed since by another stay)."""
        return int(self.scripts.run("ack_timers", now, lease_s, *members)) if members else 0

    def shift_change(self, agent_id: str, on_shift: bool, now: datetime) -> tuple[bool, list[Offer]]:
        result = self.scripts.run("shift_change", now, agent_id, "1" if on_shift else "0")
        return int(result[0]) == 1, offers_from(result[1:])

    def request_callback(self, call_sid: str, number: str, now: datetime) -> bool:
        return int(self.scripts.run("request_callback", now, call_sid, number)) == 1

    # -- call controls (acd/controls.py) -----------------------------------------------
    def hold(self, call_sid: str, on: bool, now: datetime) -> tuple[int, float]:
        """(1 changed | 0 so already | -1 not connected, hold seconds so far): see hold_call.lua."""
        result = self.scripts.run("hold_call", now, call_sid, "1" if on else "0")
        return int(result[0]), float(_text(result[1])) if len(result) > 1 else 0.0

    def offer_party(self, call_sid: str, agent_id: str, requirements: dict, role: str, transfer_id: str,
                    transfer: dict | None, timeout_s: float, now: datetime) -> tuple[str | None, str]:
        """(reservation id, agent) of an offer to join the call, or (None, why): see offer_party.lua."""
        result = self.scripts.run("offer_party", now, call_sid, agent_id, json.dumps(requirements), role, transfer_id,
                                  json.dumps(transfer) if transfer else "", timeout_s)
        if int(result[0]) == 0:
            return None, _text(result[1])
        return _text(result[1]), _text(result[2])

    def party_leg(self, call_sid: str, agent_id: str, what: str, now: datetime) -> tuple[bool, list[Offer]]:
        result = self.scripts.run("party_leg", now, call_sid, agent_id, what)
        return int(result[0]) == 1, offers_from(result[1:])

    def transfer_out(self, call_sid: str, by: str, transfer_id: str, fields: dict, timers: list[tuple[str, float]],
                     credit_ms: int, transfer: dict, now: datetime) -> tuple[str | None, list[Offer]]:
        """(None, offers) when the caller waits in the new queue, else (why, []): see transfer_out.lua."""
        result = self.scripts.run("transfer_out", now, call_sid, by, transfer_id, json.dumps(fields),
                                  json.dumps([[m, round(t, 3)] for m, t in timers]), credit_ms, json.dumps(transfer))
        if int(result[0]) == 0:
            return _text(result[1]), []
        return None, offers_from(result[1:])

    def transfer_complete(self, transfer_id: str, by: str, now: datetime) -> tuple[str | None, list[str]]:
        """(None, [call sid, first agent, new agent]) or (why, []): see transfer_complete.lua."""
        result = self.scripts.run("transfer_complete", now, transfer_id, by)
        if int(result[0]) == 0:
            return _text(result[1]), []
        return None, [_text(x) for x in result[1:4]]

    def transfer_cancel(self, transfer_id: str, by: str, now: datetime) -> tuple[str | None, list[str], list[Offer]]:
        """(None, [call sid, target agent], offers) or (why, [], []): see transfer_cancel.lua."""
        result = self.scripts.run("transfer_cancel", now, transfer_id, by)
        if int(result[0]) == 0:
            return _text(result[1]), [], []
        return None, [_text(x) for x in result[1:3]], offers_from(result[3:])

    def transfer_away(self, call_sid: str, by: str, transfer_id: str, what: str, transfer: dict,
                      now: datetime) -> tuple[str | None, list[Offer]]:
        """(None, offers) or (why, []): see transfer_away.lua."""
        result = self.scripts.run("transfer_away", now, call_sid, by, transfer_id, what, json.dumps(transfer))
        if int(result[0]) == 0:
            return _text(result[1]), []
        return None, offers_from(result[1:])
