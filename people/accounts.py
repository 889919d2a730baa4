"""People's accounts: create, change and disable them, and sign them in.

A sign-in is throttled (throttle.py) before the password is checked, answers the same refusal for an
unknown username, a wrong password and a disabled account (checked against a dummy hash, so the time
is the same too), asks for the TOTP code of those who enrolled one, and starts a server-side session
(sessions.py). Changing what a session stands for (password, role, agent, disabling) ends the
person's sessions at once.
"""
from __future__ import annotations

import hmac
import re
import time

import pyotp
import segno
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from contactcenter.errors import Conflict, Invalid, NotFound, Unauthenticated
from store.models import USER_ROLES, Agent, User

from . import passwords
from .directory import UserDirectory
from .sessions import Session, Sessions
from .throttle import LoginThrottle

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
WRONG = "wrong username or password"
TOTP_STEP_S = 30


def clean_username(value: object) -> str:
    if not isinstance(value, str) or not USERNAME.match(value.strip().lower()):
        raise Invalid("username: 1-64 characters, lowercase letters, digits, '.', '_' and '-'")
    return value.strip().lower()


def view(user: User) -> dict:
    return {"username": user.username, "role": user.role, "agent_id": user.agent_id, "disabled": user.disabled,
            "totp": user.totp_secret is not None,
            "created_at": user.created_at.isoformat(), "updated_at": user.updated_at.isoformat()}


class Accounts:
    def __init__(self, sql: sessionmaker, sessions: Sessions, throttle: LoginThrottle, directory: UserDirectory,
                 issuer: str = "callrouter", clock=time.time):
        self.sql, self.sessions, self.throttle, self.issuer, self.clock = sql, sessions, throttle, issuer, clock
        self.directory = directory

    # --- signing in ---------------------------------------------------------------------------

    def sign_in(self, username: object, password: object, otp: object, address: str, user_agent: str
                ) -> tuple[str, Session]:
        """(the cookie's value, the session) for a right username, password and (if enrolled) code.
        With SQL away, Redis's copy of the accounts answers (directory.py)."""
        name = username.strip().lower()[:64] if isinstance(username, str) else ""
        self.throttle.attempt(name, address)               # Throttled before any secret is looked at
        try:
            with self.sql() as db:
                user = db.get(User, name) if name else None
                step = self._verify(user, password, otp)
                if step is not None:
                    user.totp_last_step = step
                if passwords.needs_rehash(user.password_hash):
                    user.password_hash = passwords.hash_password(password)
                db.commit()
                self.directory.remember(user)
                who = (user.username, user.role, user.agent_id)
        except SQLAlchemyError:
            user = self.directory.get(name) if name else None
            if (step := self._verify(user, password, otp)) is not None:
                self.directory.step_used(user.username, step)
            who = (user.username, user.role, user.agent_id)
        self.throttle.succeeded(name, address)
        return self.sessions.start(*who, address=address, user_agent=user_agent)

    def _verify(self, user: User | None, password: object, otp: object) -> int | None:
        """Refuse (Unauthenticated) unless the password is the user's, they are enabled and, if they
        enrolled a second factor, the code is right and new; the code's time step, if one was used."""
        ok = passwords.matches(password, user.password_hash if user is not None else None)
        if not ok or user is None or user.disabled:
            raise Unauthenticated(WRONG)
        if user.totp_secret is None:
            return None
        step = self._otp_step(user.totp_secret, otp, user.totp_last_step)
        if step is None:
            raise Unauthenticated("a valid one-time code from your authenticator app is required", otp_required=True)
        return step

    def _otp_step(self, secret: str, otp: object, last_step: int | None) -> int | None:
        """The time step a code belongs to (this one or either neighbour: clocks drift), if it is
        right and newer than the last one used; None otherwise (a replayed code is refused)."""
        if not isinstance(otp, str) or not (otp := otp.strip().replace(" ", "")).isascii() or not otp.isdecimal():
            return None
        totp, now_step = pyotp.TOTP(secret), int(self.clock() // TOTP_STEP_S)
        for step in (now_step - 1, now_step, now_step + 1):
            if hmac.compare_digest(totp.generate_otp(step), otp) and (last_step is None or step > last_step):
                return step
        return None

    # --- the people -----------------------------------------------------------------------------

    def list(self) -> list[dict]:
        with self.sql() as db:
            return [view(u) for u in db.scalars(select(User).order_by(User.username))]

    def usernames(self) -> list[str]:
        with self.sql() as db:
            return list(db.scalars(select(User.username)))

    def get(self, username: str) -> dict:
        with self.sql() as db:
            return view(self._user(db, username))

    def _user(self, db, username: object) -> User:
        user = db.get(User, username.strip().lower()) if isinstance(username, str) else None
        if user is None:
            raise NotFound(f"no user {username!r}")
        return user

    def create(self, username: object, password: object, role: object, agent_id: object = None,
               disabled: bool = False) -> dict:
        name = clean_username(username)
        if role not in USER_ROLES:
            raise Invalid(f"role: one of {', '.join(USER_ROLES)}")
        if (why := passwords.problem(password)) is not None:
            raise Invalid(f"password: {why}")
        with self.sql() as db:
            agent_id = self._agent_for(db, role, agent_id, name)
            if db.get(User, name) is not None:
                raise Conflict(f"user {name!r} exists")
            user = User(username=name, password_hash=passwords.hash_password(password), role=role,
                        agent_id=agent_id, disabled=bool(disabled))
            db.add(user)
            db.commit()
            self.directory.remember(user)
            return view(user)

    def _agent_for(self, db, role: str, agent_id: object, username: str) -> str | None:
        """The agent an agent user stands for (required, existing, nobody else's); None for others."""
        if role != "agent":
            if agent_id is not None:
                raise Invalid("agent_id: only an agent user is tied to an agent")
            return None
        if not isinstance(agent_id, str) or db.get(Agent, agent_id) is None:
            raise Invalid(f"agent_id: an agent user needs an existing agent, not {agent_id!r}")
        taken = db.scalar(select(User.username).where(User.agent_id == agent_id, User.username != username))
        if taken is not None:
            raise Conflict(f"agent {agent_id!r} already has the user {taken!r}")
        return agent_id

    def update(self, username: str, changes: dict) -> dict:
        """Reset the password, change the role or agent, disable or enable; every such change ends the
        person's sessions (they sign in again with what is true now)."""
        unknown = set(changes) - {"password", "role", "agent_id", "disabled", "totp"}
        if unknown:
            raise Invalid(f"unknown field(s): {', '.join(sorted(unknown))}")
        with self.sql() as db:
            user = self._user(db, username)
            if "password" in changes:
                if (why := passwords.problem(changes["password"])) is not None:
                    raise Invalid(f"password: {why}")
                user.password_hash = passwords.hash_password(changes["password"])
            role = changes.get("role", user.role)
            if role not in USER_ROLES:
                raise Invalid(f"role: one of {', '.join(USER_ROLES)}")
            if "role" in changes or "agent_id" in changes:
                user.agent_id = self._agent_for(db, role, changes.get("agent_id", user.agent_id if role == "agent"
                                                                       else None), user.username)
                user.role = role
            if "disabled" in changes:
                if not isinstance(changes["disabled"], bool):
                    raise Invalid("disabled: true or false")
                user.disabled = changes["disabled"]
            if changes.get("totp") is False:            # an admin removes a lost authenticator
                user.totp_secret = user.totp_pending = user.totp_last_step = None
            elif "totp" in changes:
                raise Invalid("totp: only false (remove the second factor); people enrol their own")
            db.commit()
            self.directory.remember(user)
            result = view(user)
        self.sessions.end_all(result["username"])
        return result

    def change_own_password(self, username: str, current: object, new: object) -> None:
        with self.sql() as db:
            user = self._user(db, username)
            if not passwords.matches(current, user.password_hash):
                raise Unauthenticated("the current password is wrong")
            if (why := passwords.problem(new)) is not None:
                raise Invalid(f"password: {why}")
            user.password_hash = passwords.hash_password(new)
            db.commit()
            self.directory.remember(user)
        self.sessions.end_all(username)

    def of_agent(self, agent_id: str) -> list[str]:
        """The usernames of the people who stand for an agent."""
        with self.sql() as db:
            return list(db.scalars(select(User.username).where(User.agent_id == agent_id)))

    def end_sessions_of(self, usernames: list[str]) -> int:
        return sum(self.sessions.end_all(name) for name in usernames)

    def end_sessions_of_agent(self, agent_id: str) -> int:
        """New credentials for an agent end its person's sessions too."""
        return self.end_sessions_of(self.of_agent(agent_id))

    def seed(self, users) -> int:
        """Create the config's people who do not exist yet (never touching those who do: a password
        changed since stays changed); how many were created."""
        created = 0
        with self.sql() as db:
            for spec in users:
                if db.get(User, spec["username"]) is not None:
                    continue
                if spec.get("password_hash"):
                    hashed = spec["password_hash"]
                else:
                    if (why := passwords.problem(spec.get("password"))) is not None:
                        raise Invalid(f"users: {spec['username']}: {why}")
                    hashed = passwords.hash_password(spec["password"])
                agent_id = spec.get("agent_id") if spec["role"] == "agent" else None
                if agent_id is not None and db.get(Agent, agent_id) is None:
                    raise Invalid(f"users: {spec['username']}: no agent {agent_id!r}")
                db.add(User(username=spec["username"], password_hash=hashed, role=spec["role"],
                            agent_id=agent_id, disabled=bool(spec.get("disabled"))))
                created += 1
            db.commit()
            for user in db.scalars(select(User)):      # Redis's copy of everyone, for SQL's outages
                self.directory.remember(user)
        return created

    # --- second factor --------------------------------------------------------------------------

    def totp_begin(self, username: str) -> dict:
        """A new secret waiting for its first code: the secret, its otpauth:// URI and a QR code of it."""
        secret = pyotp.random_base32()
        with self.sql() as db:
            user = self._user(db, username)
            user.totp_pending = secret
            db.commit()
        uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=self.issuer)
        return {"secret": secret, "uri": uri, "qr_svg": segno.make(uri, error="m").svg_data_uri(scale=5)}

    def totp_confirm(self, username: str, otp: object) -> dict:
        """The first right code turns the pending secret on (from the next sign-in it is asked for)."""
        with self.sql() as db:
            user = self._user(db, username)
            if user.totp_pending is None:
                raise Conflict("no second factor is being set up; start again")
            step = self._otp_step(user.totp_pending, otp, None)
            if step is None:
                raise Invalid("otp: not the code the authenticator app shows now")
            user.totp_secret, user.totp_pending, user.totp_last_step = user.totp_pending, None, step
            db.commit()
            self.directory.remember(user)
            return view(user)
