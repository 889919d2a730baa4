"""Who is calling the JSON API: the admin (ADMIN_TOKEN) or one agent (its token).

`Authorization: Bearer <token>`; the web console's session cookie comes with it.

A cookie is sent by the browser whatever page made the request, so a request
authenticated by the session cookie alone must also prove it comes from the
console itself: every such request other than GET/HEAD/OPTIONS carries the
session's CSRF token in the `X-CSRF-Token` header (the console page reads it
from its own HTML; another site cannot). Bearer-token requests need no such
proof: a browser never adds that header by itself.
"""
from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from flask import abort, request, session

from .deps import services

CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    kind: str                 # "admin", "supervisor" or "agent"
    agent_id: str | None = None
    via_session: bool = False  # authenticated by the console's session cookie

    def may_act_for(self, agent_id: str) -> bool:
        return self.kind == "admin" or self.agent_id == agent_id


def _token() -> tuple[str | None, bool]:
    """(token, whether it came from the session cookie)."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[7:].strip() or None, False
    token = session.get("token")
    return (token, True) if isinstance(token, str) and token else (None, False)


def new_csrf_token() -> str:
    """A fresh CSRF token for this session (kept in the signed session cookie)."""
    token = secrets.token_urlsafe(32)
    session["csrf"] = token
    return token


def csrf_ok(sent: str | None) -> bool:
    expected = session.get("csrf")
    return bool(sent and isinstance(expected, str) and expected
                and hmac.compare_digest(sent.encode(), expected.encode()))


def check_csrf() -> None:
    """403 for a change authenticated by the session cookie without the session's CSRF token.

    Called by principal(), and before every /api request (create_app), so that no endpoint can
    act on a forged cross-site request before it asks who is calling."""
    token, via_session = _token()
    if token and via_session and request.method not in SAFE_METHODS and not csrf_ok(request.headers.get(CSRF_HEADER)):
        abort(403, f"missing or wrong {CSRF_HEADER} header (required with the console's session cookie)")


def principal() -> Principal:
    token, via_session = _token()
    if not token:
        abort(401, "missing bearer token")
    check_csrf()
    rt = services()
    if hmac.compare_digest(token.encode(), rt.settings.admin_token.encode()):
        return Principal("admin", via_session=via_session)
    agent_id = rt.sign_ins.agent_id_for_token(token)
    if agent_id is None:
        abort(401, "invalid token")
    return Principal("agent", agent_id, via_session=via_session)


def require_admin() -> Principal:
    who = principal()
    if who.kind != "admin":
        abort(403, "admin only")
    return who


def require_supervisor() -> Principal:
    """A supervisor or an admin: the board, stats, reports, call history (CONTRACT v3)."""
    who = principal()
    if who.kind not in ("admin", "supervisor"):
        abort(403, "supervisors and admins only")
    return who


def require_self_or_supervisor(agent_id: str) -> Principal:
    """The agent itself, a supervisor or an admin: reading an agent, changing its status."""
    who = principal()
    if who.kind not in ("admin", "supervisor") and who.agent_id != agent_id:
        abort(403, "an agent token acts only for its own agent")
    return who


def require_agent_or_admin(agent_id: str) -> Principal:
    who = principal()
    if not who.may_act_for(agent_id):
        abort(403, "an agent token acts only for its own agent")
    return who
