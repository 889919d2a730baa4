"""Redis's copy of what signing in needs of each person (password hash, role, agent, disabled, TOTP
secret and last step), written whenever SQL's changes and read only when SQL is away: a shift that
starts during a database outage still signs in, as agents' tokens still work (acd/sign_ins.py)."""
from __future__ import annotations

import json

import redis

from store.keys import Keys
from store.models import User

FIELDS = ("username", "password_hash", "role", "agent_id", "disabled", "totp_secret", "totp_last_step")


class UserDirectory:
    def __init__(self, r: redis.Redis, keys: Keys):
        self.r, self.keys = r, keys

    def remember(self, user: User) -> None:
        try:
            self.r.hset(self.keys.user_directory(), user.username,
                        json.dumps({name: getattr(user, name) for name in FIELDS}))
        except redis.RedisError:
            pass        # the copy is for SQL's outages; SQL still holds the truth

    def get(self, username: str) -> User | None:
        """A transient User from the copy (never added to a SQL session), or None."""
        raw = self.r.hget(self.keys.user_directory(), username)
        if raw is None:
            return None
        return User(**{name: value for name, value in json.loads(raw).items() if name in FIELDS})

    def step_used(self, username: str, step: int) -> None:
        """A code used while SQL was away: not good again (until SQL, which does not know, is back)."""
        user = self.get(username)
        if user is not None:
            user.totp_last_step = step
            self.remember(user)
