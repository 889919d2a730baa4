"""Login throttling: at most `limit` failed logins per account and per client address within a
window; the next attempt answers 429 with Retry-After until the window (counted from the first
failure) is over.

Every attempt is counted *before* the password is checked, in one transaction, so a burst of
concurrent guesses cannot all slip in under the limit; a successful login takes its own count back
and clears the account's. The account's key is a hash of the folded username: unknown usernames are
throttled exactly like known ones, and the key says nothing about who exists.
"""
from __future__ import annotations

import hashlib

import redis

from contactcenter.errors import Throttled
from store.keys import Keys


class LoginThrottle:
    def __init__(self, r: redis.Redis, keys: Keys, limit: int = 5, window_s: int = 900):
        self.r, self.keys, self.limit, self.window_s = r, keys, limit, window_s

    def _keys(self, username: str, address: str) -> tuple[str, str]:
        folded = hashlib.sha256(username.strip().casefold().encode()).hexdigest()[:32]
        return self.keys.login_failures("user", folded), self.keys.login_failures("addr", address[:64] or "-")

    def attempt(self, username: str, address: str) -> None:
        """Count one attempt for the account and the address; Throttled when either is over the limit."""
        pipe = self.r.pipeline(transaction=True)
        for key in self._keys(username, address):
            pipe.set(key, 0, ex=self.window_s, nx=True)     # the window starts at the first attempt
            pipe.incr(key)
            pipe.pttl(key)
        replies = pipe.execute()
        counts, ttls = replies[1::3], replies[2::3]
        for key, ttl in zip(self._keys(username, address), ttls, strict=True):
            if ttl < 0:                  # a count that lost its window (a take-back raced its expiry)
                self.r.expire(key, self.window_s)
        over = [ttl for count, ttl in zip(counts, ttls, strict=True) if count > self.limit]
        if over:
            wait = max(1, -(-max(over) // 1000))          # whole seconds, rounded up: the window is over then
            raise Throttled(f"too many failed logins; try again in {wait} s", retry_after_s=wait)

    def succeeded(self, username: str, address: str) -> None:
        """A right login: the account starts afresh; the address gets this attempt back."""
        account, addr = self._keys(username, address)
        pipe = self.r.pipeline(transaction=True)
        pipe.delete(account)
        pipe.decr(addr)
        if pipe.execute()[1] <= 0:
            self.r.delete(addr)
