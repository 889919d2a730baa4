"""What routing rules read in Redis, in one read-only script (acd/lua/rule_facts.lua): the queues as
they see them (`queues.<name>`: callers in line, the longest wait, agents available and logged in,
the estimated wait of a caller joining now) and, with them, the caller's other calls and the call's
menu choices (`call.*`), so that a turn's rules cost one round trip."""
from __future__ import annotations

import json
from datetime import datetime

from contactcenter.model import ContactCenter

from .queueing import requirements

ASSUMED_HANDLE_S = 180.0      # a handle time before any call today (as the hold announcements assume)


class Floor:
    def __init__(self, cc: ContactCenter, scripts):
        self.cc = cc
        self.scripts = scripts

    def read(self, names: tuple[str, ...], now: datetime, call_sid: str = "", number: str = "",
             day_start: float = 0.0, repeat_since: float = 0.0) -> tuple[int, int, list[str], dict[str, dict]]:
        """(the caller's other calls since `day_start`, and since `repeat_since`; the call's menu
        choices; the figures of the queues `names`). Without `number`, no history is read."""
        queues = [[name, requirements(self.cc.queues[name])] for name in names if name in self.cc.queues]
        script, keys, args = self.scripts.call("rule_facts", now, call_sid, number, round(day_start, 3),
                                               round(repeat_since, 3), json.dumps(queues))
        today, recent, choices, figures = script(keys=keys, args=args)
        return (int(today), int(recent), [c.decode() if isinstance(c, bytes) else str(c) for c in choices],
                self.figures(names, figures))

    def figures(self, names: tuple[str, ...], result) -> dict[str, dict]:
        """The script's answer as `queues.<name>` attributes. The estimated wait is that of a caller
        joining now: the work ahead of them (everyone in line not met by an available agent, each an
        average handle time today) shared by the agents staffing the queue, as the hold
        announcements estimate it."""
        out = {}
        known = [name for name in names if name in self.cc.queues]
        for name, row in zip(known, result or [], strict=False):
            waiting, callbacks, longest_ms, available, logged_in, staffed = (int(x) for x in row[:6])
            answered, talk_s, wrap_s = (float(x) for x in row[6:9])
            handle = (talk_s + wrap_s) / answered if answered else ASSUMED_HANDLE_S
            out[name] = {"waiting": waiting, "callbacks": callbacks, "longest_wait_s": round(longest_ms / 1000, 1),
                         "available": available, "logged_in": logged_in,
                         "estimated_wait_s": round(max(0, waiting + 1 - available) * handle / max(1, staffed), 1)}
        return out
