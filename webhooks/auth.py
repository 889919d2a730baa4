"""Who is calling: a person by their session cookie, or a program by its bearer token.

- `Authorization: Bearer <token>`: ADMIN_TOKEN (the admin), or an agent's API token (that agent).
- The `callrouter_session` cookie: a random id naming a server-side session (people/sessions.py),
  which says the person's username, role (agent, supervisor, admin) and agent.

Authentication comes first, whatever the request names (401), then the role (403), then whatever the
request looks up (404/409). A cookie is sent by the browser whatever page made the request, so a
change authenticated by the cookie alone must also carry the session's CSRF token in the
`X-CSRF-Token` header (the pages read it from their own HTML; another site cannot).
"""
from __future__ import annotations

import hmac
from dataclasses import dataclass

from flask import abort, g, request

from .deps import services

COOKIE = "callrouter_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ROLES = ("agent", "supervisor", "admin")


@dataclass(frozen=True)
class Principal:
    kind: str                 # "admin", "supervisor" or "agent"; "operator", "workspace_admin" (workspaces)
    agent_id: str | None = None
    via_session: bool = False  # authenticated by the session cookie
    name: str = ""            # who, for the audit trail: a username, "admin-token", "agent-token:<id>"
    session_id: str | None = None

    def may_act_for(self, agent_id: str) -> bool:
        return self.kind == "admin" or self.agent_id == agent_id


def client_address() -> str:
    """The client's address: the connection's, or behind TRUSTED_PROXIES reverse proxies the one
    their X-Forwarded-For names (werkzeug's ProxyFix, set up in webhooks/__init__.py)."""
    return (request.remote_addr or "-")[:64]


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    return (header[7:].strip() or None) if header.startswith("Bearer ") else None


def current_session():
    """The live session of this request's cookie, or None (looked up once per request)."""
    if "people_session" not in g:
        raw = request.cookies.get(COOKIE)
        g.people_session = services().people_sessions.get(raw) if raw else None
    return g.people_session


def csrf_ok(sent: str | None) -> bool:
    session = current_session()
    return bool(sent and session is not None
                and hmac.compare_digest(sent.encode(), session.csrf.encode()))


def check_csrf() -> None:
    """403 for a change authenticated by the session cookie without the session's CSRF token."""
    if _bearer() is None and request.method not in SAFE_METHODS and current_session() is not None \
            and not csrf_ok(request.headers.get(CSRF_HEADER)):
        abort(403, f"missing or wrong {CSRF_HEADER} header (required with the session cookie)")


def principal() -> Principal:
    """Who asks; 401 when nobody (no credentials, a wrong token, a dead session)."""
    if "principal" in g:
        return g.principal
    token = _bearer()
    if token is not None:
        rt = services()
        if hmac.compare_digest(token.encode(), rt.settings.admin_token.encode()):
            who = Principal("admin", name="admin-token")
        else:
            agent_id = rt.sign_ins.agent_id_for_token(token)
            if agent_id is None:
                abort(401, "invalid token")
            who = Principal("agent", agent_id, name=f"agent-token:{agent_id}")
    else:
        session = current_session()
        if session is None:
            abort(401, "sign in first (or send a bearer token)" if request.cookies.get(COOKIE) is None
                  else "your session has ended; sign in again")
        check_csrf()
        who = Principal(session.role, session.agent_id, via_session=True, name=session.username,
                        session_id=session.id)
    g.principal = who
    return who


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


def require_person() -> Principal:
    """A person signed in with a session (their own account's pages and sessions)."""
    who = principal()
    if not who.via_session:
        abort(403, "only a person signed in with a session (not a token)")
    return who


# -- workspaces (issue 19): the operator (OPERATOR_TOKEN) and each workspace's admin, by bearer token only --
def _workspaces_enabled() -> str:
    """OPERATOR_TOKEN, or 404 for every workspace operation when it is unset (no operator API)."""
    operator = services().settings.operator_token
    if not operator:
        abort(404, "no workspaces here (OPERATOR_TOKEN is not set)")
    return operator


def _operator_or_none(operator: str) -> tuple[str, Principal | None]:
    token = _bearer()
    if token is None:
        abort(401, "the operator's or a workspace admin's bearer token is required")
    if hmac.compare_digest(token.encode(), operator.encode()):
        g.principal = Principal("operator", name="operator")
        return token, g.principal
    return token, None


def _known_elsewhere(token: str) -> bool:
    """A valid credential that is not the operator's: the admin token, an agent's, a workspace admin's."""
    rt = services()
    return (hmac.compare_digest(token.encode(), rt.settings.admin_token.encode())
            or rt.sign_ins.agent_id_for_token(token) is not None
            or rt.workspaces.workspace_of_admin(token) is not None)


def require_operator() -> Principal:
    """The operator: 404 without OPERATOR_TOKEN, 401 without a valid token, 403 for other credentials."""
    token, who = _operator_or_none(_workspaces_enabled())
    if who is None:
        if _known_elsewhere(token):
            abort(403, "the operator only")
        abort(401, "invalid token")
    return who


def require_workspace_admin_or_operator(workspace_id: str) -> Principal:
    """The operator, or that workspace's admin; another workspace's admin gets 404 (it sees nothing of
    another workspace), other valid credentials 403."""
    token, who = _operator_or_none(_workspaces_enabled())
    if who is not None:
        return who
    rt = services()
    if rt.workspaces.is_admin(workspace_id, token):
        g.principal = Principal("workspace_admin", name=f"workspace-admin:{workspace_id}"[:64])
        return g.principal
    if rt.workspaces.workspace_of_admin(token) is not None:
        abort(404, f"no workspace {workspace_id}")
    if _known_elsewhere(token):
        abort(403, "the operator or this workspace's admin only")
    abort(401, "invalid token")
