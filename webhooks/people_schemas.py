"""What the people endpoints (webhooks/people_api.py) accept and answer, as pydantic models for
webhooks/openapi.py: sign-in, sessions, accounts, a person's password and second factor, the audit
trail. Bounds as in webhooks/schemas.py; the password policy itself is people/passwords.py's."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StrictBool

from .answers import Answer
from .schemas import Body, Day, Query, _no_null_defaults, line, query_int

ROLES = ("agent", "supervisor", "admin")
Role = Literal[ROLES]     # type: ignore[valid-type]
USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
Username = Annotated[str, Field(min_length=1, max_length=64, pattern=USERNAME_PATTERN,
                                description="lowercase letters, digits, '.', '_' and '-' (folded to lowercase)")]
Password = Annotated[str, Field(min_length=1, max_length=256)]
NewPassword = Annotated[str, Field(min_length=12, max_length=256, description="12 characters or more")]
Otp = Annotated[str, Field(min_length=6, max_length=8, pattern=r"^[0-9]{6,8}$",
                           description="the code the authenticator app shows now")]
SessionId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9a-f]{1,64}$")]
PATH = {"username": Username, "session_id": SessionId}


class SignIn(Body):
    """`POST /api/sessions`: a person's username and password, and their code once they enrolled one."""
    username: Username
    password: Password
    otp: Otp = None


class UserNew(Body):
    error_root = ""
    username: Username
    password: NewPassword
    role: Role
    agent_id: Annotated[str, Field(min_length=1, max_length=48, pattern=r"^[A-Za-z0-9_-]{1,48}$")] = Field(
        None, description="the agent an agent user stands for (required for role agent, refused for others)")
    disabled: StrictBool = False


class UserChange(Body):
    """Reset the password, change the role or agent, disable or enable, remove a lost second factor
    (`totp: false`); every change ends the person's sessions."""
    password: NewPassword = None
    role: Role = None
    agent_id: Annotated[str, Field(min_length=1, max_length=48, pattern=r"^[A-Za-z0-9_-]{1,48}$")] = None
    disabled: StrictBool = None
    totp: Literal[False] = None


class PasswordChange(Body):
    current: Password
    new: NewPassword


class OtpConfirm(Body):
    otp: Otp


class AuditQuery(Query):
    since: Day = Field(None, alias="from", description="first day (UTC)")
    until: Day = Field(None, alias="to", description="last day (UTC)")
    actor: line(1, 64) = Field(None, description="a username, `admin-token` or `agent-token:<id>`")
    action: line(1, 64) = Field(None, description="e.g. `agents_api.set_status`")
    limit: query_int(1, 500) = 100
    before: query_int(1, 999_999_999) = Field(None, description="the `next` of the previous page")


# -- answers -------------------------------------------------------------------------------------
class SessionStarted(Answer):
    model_config = ConfigDict(extra="allow", json_schema_extra=_no_null_defaults)   # agent_id: agents only
    role: Role
    username: str
    csrf: str = Field(description="send it as X-CSRF-Token with every change made with the session cookie")
    agent_id: str = Field(None, description="for an agent: the agent they stand for (absent for others)")


class Ended(Answer):
    ended: str


class SessionView(Answer):
    id: str
    username: str
    role: Role
    agent_id: str | None
    created: float
    last_seen: float
    expires: float
    address: str
    user_agent: str
    current: bool


class SessionList(Answer):
    sessions: list[SessionView]


class User(Answer):
    username: str
    role: Role
    agent_id: str | None
    disabled: bool
    totp: bool
    created_at: str
    updated_at: str


class UserAnswer(Answer):
    user: User


class UserList(Answer):
    users: list[User]


class PasswordChanged(Answer):
    changed: bool


class TotpBegun(Answer):
    secret: str
    uri: str = Field(description="otpauth://totp/... for the authenticator app")
    qr_svg: str = Field(description="a data: URI of an SVG QR code of `uri`")


class AuditEntry(Answer):
    id: int
    at: str
    actor: str
    role: str
    action: str
    target: str
    method: str
    path: str
    status: int
    address: str


class AuditPage(Answer):
    entries: list[AuditEntry]
    next: int | None
