"""The ACD's Lua scripts, registered once per Redis client.

Each routing script is `lib.lua` (shared matching and offer code) followed by
the script's own file; all take the same leading arguments (events stream as
KEYS[1]; prefix, now and statistics buckets as ARGV[1..3]), added here.
"""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import redis

from store.keys import Keys

_LUA = Path(__file__).with_name("lua")
ROUTING = ("enqueue_call", "answer_offer", "call_gone", "set_agent_status", "end_wrapup", "connected",
           "talk_ended", "dial_failed", "escalate", "leave_queue", "reroute", "claim_timers", "shift_change",
           "request_callback", "overflow_stranded", "rebuild_index")


def buckets(now: datetime, timezone: str) -> str:
    """"<day>|<15-minute interval>" of `now` in the contact center's time zone."""
    return _buckets_of_minute(int(now.timestamp() // 60), timezone)


@lru_cache(maxsize=256)
def _buckets_of_minute(minute: int, timezone: str) -> str:
    # Zone offsets are whole minutes, so every instant of a UTC minute has the same buckets.
    local = datetime.fromtimestamp(minute * 60, ZoneInfo(timezone))
    quarter = local.minute - local.minute % 15
    return f"{local:%Y%m%d}|{local:%Y%m%d}T{local:%H}{quarter:02d}"


class Scripts:
    def __init__(self, r: redis.Redis, keys: Keys, timezone: str):
        self.redis = r
        self.keys = keys
        self.timezone = timezone
        lib = (_LUA / "lib.lua").read_text()
        self._scripts = {name: r.register_script(lib + "\n" + (_LUA / f"{name}.lua").read_text())
                         for name in ROUTING}

    def run(self, name: str, now: datetime, *args):
        script, keys, full_args = self.call(name, now, *args)
        return script(keys=keys, args=full_args)

    def call(self, name: str, now: datetime, *args) -> tuple:
        """(script, keys, args) of a routing script, to run in one round trip with another."""
        return (self._scripts[name], [self.keys.events()],
                [self.keys.prefix, round(now.timestamp(), 3), buckets(now, self.timezone), *args])
