"""The ACD's Lua scripts, loaded once per Redis client.

Each routing script is `lib.lua` (shared matching and offer code) followed by the script's own file;
all take the same leading arguments (events stream as KEYS[1]; prefix, now, statistics buckets and a
secret nonce for reservation ids as ARGV[1..4]), added here. On Redis 7 and later they are the
functions of one library (FUNCTION LOAD, called with FCALL): lib.lua's functions are then made once
when the library loads, where a script (EVALSHA, which older servers such as the embedded Redis 6.2
run) makes them again on every call, a tenth of a routing decision. The library's name carries a
digest of its text, so services of different versions can share a Redis; a server that lost it
(restart without persistence, FUNCTION FLUSH) gets it again on the next call.
"""
from __future__ import annotations

import hashlib
import secrets
import time
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import redis

from store.keys import Keys
from store.redis_conn import script_missing

_LUA = Path(__file__).with_name("lua")
ROUTING = ("enqueue_call", "answer_offer", "call_gone", "set_agent_status", "end_wrapup", "connected",
           "talk_ended", "dial_failed", "escalate", "leave_queue", "reroute", "claim_timers", "ack_timers",
           "shift_change", "request_callback", "overflow_stranded", "rebuild_index", "dial_completed",
           "hold_call", "offer_party", "party_leg", "transfer_out", "transfer_complete", "transfer_cancel",
           "transfer_away", "assign_call", "rule_facts")
# lib.lua sets its per-call values (prefix, now, buckets...) from the arguments with begin()
BEGIN = "\nbegin(KEYS, ARGV)\n"
# each routing script in the library: a function of (KEYS, ARGV), as its file reads them
FUNCTION = "redis.register_function('cr_{digest}_{name}', function(KEYS, ARGV)" + BEGIN + "{body}\nend)\n"


def script_text(body: str, lib: str | None = None) -> str:
    """A script (EVAL) of lib.lua and `body`, which reads KEYS and ARGV as every routing script does."""
    return (lib if lib is not None else (_LUA / "lib.lua").read_text()) + BEGIN + body


def library_text(lib: str, bodies: dict[str, str]) -> tuple[str, str]:
    """(digest, text) of the function library: lib.lua, then each routing script as a function named
    cr_<digest>_<script>. The digest covers everything the text is made of, so a library of that name
    is this text."""
    digest = hashlib.sha1(repr((FUNCTION, lib, sorted(bodies.items()))).encode()).hexdigest()[:16]
    functions = "".join(FUNCTION.format(digest=digest, name=name, body=body) for name, body in bodies.items())
    return digest, f"#!lua name=callrouter_{digest}\n{lib}\n{functions}"


class _Routing:
    """One routing script, called like a redis-py Script: FCALL of its function in the library when
    the server has functions, else EVALSHA of the script. Nothing is asked of Redis before the first
    call (the app starts, and answers /api/health, with Redis down)."""

    def __init__(self, scripts: "Scripts", name: str, text: str):
        self.scripts = scripts
        self.function = f"cr_{scripts.digest}_{name}"
        self.script = scripts.redis.register_script(text)

    def __call__(self, keys=(), args=(), client=None):
        if not self.scripts.use_functions():
            return self.script(keys=keys, args=args, client=client)
        r = client if client is not None else self.scripts.redis
        try:
            return r.fcall(self.function, len(keys), *keys, *args)
        except redis.exceptions.ResponseError as exc:
            if not script_missing(exc):
                raise
            self.scripts.load_library()
            return r.fcall(self.function, len(keys), *keys, *args)

    def queue(self, pipe, keys, args) -> None:
        """Add the call to a pipeline (see store.redis_conn.queue_script)."""
        if self.scripts.use_functions():
            pipe.fcall(self.function, len(keys), *keys, *args)
        else:
            pipe.evalsha(self.script.sha, len(keys), *keys, *args)


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
    def __init__(self, r: redis.Redis, keys: Keys, timezone: str, functions: bool | None = None):
        """functions: run the scripts as a function library (Redis 7+) or not; None: when the
        server can, found on the first call."""
        self.redis = r
        self.keys = keys
        self.timezone = timezone
        self.functions = functions
        lib = (_LUA / "lib.lua").read_text()
        bodies = {name: (_LUA / f"{name}.lua").read_text() for name in ROUTING}
        self.digest, self._library = library_text(lib, bodies)
        self._scripts = {name: _Routing(self, name, script_text(body, lib)) for name, body in bodies.items()}
        self.deadline = Deadline(r)

    def use_functions(self) -> bool:
        if self.functions is None:
            try:
                self.load_library()
                self.functions = True
            except redis.exceptions.ResponseError as exc:
                if not _functions_refused(exc):
                    raise
                self.functions = False
        return self.functions

    def load_library(self) -> None:
        try:
            self.redis.function_load(self._library)
        except redis.exceptions.ResponseError as exc:
            if "already exists" not in str(exc):     # the same name is the same text (its digest)
                raise

    def run(self, name: str, now: datetime, *args):
        script, keys, full_args = self.call(name, now, *args)
        return script(keys=keys, args=full_args)

    def call(self, name: str, now: datetime, *args) -> tuple:
        """(script, keys, args) of a routing script, to run in one round trip with another."""
        # a fresh secret per call: the reservation ids its offers get are made from it (lib.lua)
        return (self._scripts[name], [self.keys.events()],
                [self.keys.prefix, round(now.timestamp(), 3), buckets(now, self.timezone), secrets.token_hex(16),
                 *args])


class Deadline:
    """When this client stops waiting for a command's reply, on Redis's clock: a script that runs
    later (Redis was paused or overloaded, and the web already answered the caller) can see it came
    too late. The offset between the clocks is measured with TIME now and then, so hosts whose
    clocks disagree still agree on the deadline; a client without a read timeout waits forever and
    gets none ('')."""
    REFRESH_S = 300.0
    SHARE = 0.8                 # of the read timeout: a reply on its way at the deadline still arrives

    def __init__(self, r: redis.Redis):
        self.r, self.offset, self.measured = r, 0.0, None

    def __call__(self) -> str:
        timeout = self.r.connection_pool.connection_kwargs.get("socket_timeout")
        if not timeout:
            return ""
        now = time.time()
        if self.measured is None or now - self.measured > self.REFRESH_S:
            seconds, micros = self.r.time()
            after = time.time()
            self.offset, self.measured = seconds + micros / 1e6 - (now + after) / 2, after
        return f"{time.time() + self.offset + self.SHARE * timeout:.3f}"


def _functions_refused(error: redis.exceptions.ResponseError) -> bool:
    """A server before Redis 7 (no FUNCTION), or one whose ACL forbids loading functions."""
    message = str(error).lower()
    return "unknown command" in message or "noperm" in message or "no permissions" in message
