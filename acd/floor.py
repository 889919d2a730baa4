"""The queues as routing rules see them (`queues.<name>` in contactcenter/rules.py): callers in line,
the longest wait, agents available and logged in, and the estimated wait of a caller joining now,
read by one read-only script (acd/lua/floor.lua) that runs in the IVR's round trip."""
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

    def read_call(self, names: tuple[str, ...], now: datetime) -> tuple:
        """(script, keys, args) reading the queues `names`, to run in one round trip with others."""
        queues = [[name, requirements(self.cc.queues[name])] for name in names if name in self.cc.queues]
        return self.scripts.call("floor", now, json.dumps(queues))

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
