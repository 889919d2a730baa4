"""The `users` section of the config: people to create at start (a demo's, or a new contact
center's first admin) when they do not exist yet. Checked here for shape; the password policy and
the hashing are people/'s (a password given in the config is hashed before it is stored, and
never overwrites a password changed since).

    users:
      - {username: admin, role: admin, password_hash: "$argon2id$v=19$..."}
      - {username: alice, role: agent, agent: alice, password: "a long demo password"}
"""
from __future__ import annotations

import re

from .checker import Checker

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
ROLES = ("agent", "supervisor", "admin")
USER_KEYS = {"username", "role", "agent", "password", "password_hash", "disabled"}
MIN_PASSWORD = 12


def check_users(c: Checker, raw, agent_ids: set[str]) -> tuple[dict, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        c.bad("users", "must be a list")
        return ()
    out, seen, agents_taken = [], set(), set()
    for i, item in enumerate(raw):
        path = f"users.{i}"
        item = c.mapping(item, path, required=True)
        c.keys(item, path, USER_KEYS)
        username, role, agent = item.get("username"), item.get("role"), item.get("agent")
        if not isinstance(username, str) or not USERNAME.match(username):
            c.bad(f"{path}.username", "1-64 characters: lowercase letters, digits, '.', '_' and '-'")
        elif username in seen:
            c.bad(f"{path}.username", f"duplicate user {username!r}")
        seen.add(username)
        if role not in ROLES:
            c.bad(f"{path}.role", f"one of {', '.join(ROLES)}")
        if role == "agent":
            if agent not in agent_ids:
                c.bad(f"{path}.agent", f"an agent user names one of the config's agents, not {agent!r}")
            elif agent in agents_taken:
                c.bad(f"{path}.agent", f"agent {agent!r} already has a user")
            agents_taken.add(agent)
        elif agent is not None:
            c.bad(f"{path}.agent", "only an agent user is tied to an agent")
        password, hashed = item.get("password"), item.get("password_hash")
        if (password is None) == (hashed is None):
            c.bad(path, "give exactly one of password (demos) and password_hash (argon2, from `flask users hash`)")
        elif password is not None and (not isinstance(password, str) or len(password) < MIN_PASSWORD):
            c.bad(f"{path}.password", f"text of at least {MIN_PASSWORD} characters")
        elif hashed is not None and (not isinstance(hashed, str) or not hashed.startswith("$argon2")):
            c.bad(f"{path}.password_hash", "an argon2 hash ($argon2id$...)")
        if not isinstance(item.get("disabled", False), bool):
            c.bad(f"{path}.disabled", "true or false")
        out.append({"username": username, "role": role, "agent_id": agent, "password": password,
                    "password_hash": hashed, "disabled": bool(item.get("disabled", False))})
    return tuple(out)
