"""Passwords: argon2id hashes (argon2-cffi's defaults, RFC 9106's low-memory profile), a policy
that refuses the obviously weak, and a dummy hash so that an unknown username costs the same time
as a wrong password (the answer and its timing say nothing about who exists)."""
from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

HASHER = PasswordHasher()
MIN_LENGTH = 12
MAX_LENGTH = 256          # argon2 takes any length; a bound keeps a megabyte "password" from costing more
# Refused whatever their length: the top of every breached-password list, and the demo's own words.
COMMON = frozenset({"password1234", "123456789012", "qwertyuiopas", "letmein12345", "passwordpassword",
                    "administrator", "callrouter123", "changeme1234"})


def problem(password: object) -> str | None:
    """Why `password` may not be used, or None."""
    if not isinstance(password, str):
        return "the password must be a string"
    if len(password) < MIN_LENGTH:
        return f"the password must have at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"the password must have at most {MAX_LENGTH} characters"
    if len(set(password)) < 4 or password.lower() in COMMON:
        return "the password is too easy to guess"
    return None


def hash_password(password: str) -> str:
    return HASHER.hash(password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return HASHER.hash("not anyone's password: makes a miss cost what a hit costs")


def matches(password: object, stored: str | None) -> bool:
    """Whether `password` is the one hashed in `stored`; with no `stored` (an unknown username) a
    dummy hash is checked all the same, so both misses take the same time."""
    if not isinstance(password, str) or not password or len(password) > MAX_LENGTH:
        password = ""
    try:
        return HASHER.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether `stored` was made with weaker parameters than today's (rehashed at the next login)."""
    try:
        return HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return False
