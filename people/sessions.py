"""Server-side sessions in Redis. The browser's cookie holds a random id and nothing else; Redis
keeps, under the id's SHA-256, who it is (username, role, agent), its CSRF token and its times.

Expiry: idle (the key's TTL, renewed as the session is used) and absolute (stored; a session is
dead after it whatever its use). Ending: one session (logout, revoked by an admin or its owner) or
all of a person's (a password change, a new role, disabling them, new credentials): their keys are
deleted, so the next request with the cookie is nobody's, in every process at once.
"""
from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import asdict, dataclass

import redis

from store.keys import Keys

TOUCH_EVERY_S = 60          # renew the idle TTL at most this often: one write a minute, not one a request


@dataclass(frozen=True)
class Session:
    id: str                  # the SHA-256 of the cookie's value: how lists and revocations name it
    username: str
    role: str
    agent_id: str | None
    csrf: str
    created: float
    last_seen: float
    expires: float           # absolute
    address: str
    user_agent: str

    def public(self) -> dict:
        """What a listing shows: everything but the CSRF token."""
        out = asdict(self)
        del out["csrf"]
        return out


def digest(raw_id: str) -> str:
    return hashlib.sha256(raw_id.encode()).hexdigest()


class Sessions:
    def __init__(self, r: redis.Redis, keys: Keys, idle_s: int = 4 * 3600, absolute_s: int = 12 * 3600,
                 clock=time.time):
        self.r, self.keys, self.idle_s, self.absolute_s, self.clock = r, keys, idle_s, absolute_s, clock

    def start(self, username: str, role: str, agent_id: str | None, address: str, user_agent: str
              ) -> tuple[str, Session]:
        """A new session: (the cookie's random value, the session)."""
        raw = secrets.token_urlsafe(32)
        now = self.clock()
        session = Session(id=digest(raw), username=username, role=role, agent_id=agent_id,
                          csrf=secrets.token_urlsafe(32), created=now, last_seen=now,
                          expires=now + self.absolute_s, address=address[:64], user_agent=user_agent[:200])
        fields = {k: ("" if v is None else str(v)) for k, v in asdict(session).items()}
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(self.keys.session(session.id), mapping=fields)
        pipe.expire(self.keys.session(session.id), min(self.idle_s, self.absolute_s))
        pipe.zadd(self.keys.user_sessions(username), {session.id: session.expires})
        pipe.zremrangebyscore(self.keys.user_sessions(username), "-inf", now)    # long-dead ones
        pipe.expire(self.keys.user_sessions(username), self.absolute_s)
        pipe.execute()
        return raw, session

    def _load(self, session_id: str) -> Session | None:
        raw = self.r.hgetall(self.keys.session(session_id))
        if not raw:
            return None
        f = {k.decode(): v.decode() for k, v in raw.items()}
        try:
            return Session(id=session_id, username=f["username"], role=f["role"], agent_id=f["agent_id"] or None,
                           csrf=f["csrf"], created=float(f["created"]), last_seen=float(f["last_seen"]),
                           expires=float(f["expires"]), address=f.get("address", ""),
                           user_agent=f.get("user_agent", ""))
        except (KeyError, ValueError):
            return None

    def get(self, raw_id: object) -> Session | None:
        """The live session of a cookie's value, its idle expiry renewed; None when it is no one's."""
        if not isinstance(raw_id, str) or not 20 <= len(raw_id) <= 100:
            return None
        session = self._load(digest(raw_id))
        now = self.clock()
        if session is None:
            return None
        if session.expires <= now:
            self.end(session.id)
            return None
        if now - session.last_seen >= TOUCH_EVERY_S:
            key = self.keys.session(session.id)
            pipe = self.r.pipeline(transaction=True)
            pipe.hset(key, "last_seen", str(now))
            pipe.expire(key, max(1, int(min(self.idle_s, session.expires - now))))
            pipe.execute()
        return session

    def end(self, session_id: str, username: str | None = None) -> bool:
        """End one session (by its id); whether it was alive. `username`, when given, must own it."""
        session = self._load(session_id)
        if session is None or (username is not None and session.username != username):
            return False
        pipe = self.r.pipeline(transaction=True)
        pipe.delete(self.keys.session(session_id))
        pipe.zrem(self.keys.user_sessions(session.username), session_id)
        pipe.execute()
        return True

    def end_all(self, username: str) -> int:
        """End every session of one person; how many were alive."""
        ids = [i.decode() for i in self.r.zrange(self.keys.user_sessions(username), 0, -1)]
        pipe = self.r.pipeline(transaction=True)
        for session_id in ids:
            pipe.delete(self.keys.session(session_id))
        pipe.delete(self.keys.user_sessions(username))
        return sum(pipe.execute()[:-1])

    def of(self, username: str) -> list[Session]:
        """One person's live sessions, newest first."""
        ids = [i.decode() for i in self.r.zrange(self.keys.user_sessions(username), 0, -1)]
        found = [s for s in map(self._load, ids) if s is not None and s.expires > self.clock()]
        return sorted(found, key=lambda s: s.created, reverse=True)

    def everyone(self, usernames: list[str]) -> list[Session]:
        """The live sessions of these people, newest first (the admin's list: usernames from SQL)."""
        return sorted((s for name in usernames for s in self.of(name)), key=lambda s: s.created, reverse=True)
