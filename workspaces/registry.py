"""The workspace registry: create a workspace, read and change its config (every change a new version,
checked as the config is at start), its history and rollbacks.

A config is YAML text, kept as sent; it is checked with contactcenter.config.parse_config (every
problem with its path) and its `workspace:` must be the workspace's id. The numbers of each workspace's
current config are kept in `workspace_numbers` in the same transaction as the version, so a number
belongs to one workspace at most (409 otherwise).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import datetime
from typing import Callable

import yaml
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from contactcenter.checker import NAME
from contactcenter.config import ConfigError, parse_config, read_yaml
from contactcenter.errors import Conflict, Invalid, NotFound
from store.models import Workspace, WorkspaceConfig, WorkspaceNumber

log = logging.getLogger(__name__)
MAX_CONFIG_BYTES = 256 * 1024
MAX_NOTE = 500
MAX_VALUES = 200_000      # values in a config, aliases expanded (a few KiB of YAML aliases can stand for billions)
MAX_PROBLEMS, MAX_REASON = 100, 300


def token_hash(token: str) -> str:
    """What is stored of an admin token: its SHA-256 (as store/agents.py keeps agents' tokens)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def checked_numbers(workspace_id: str, text: str) -> list[str]:
    """The numbers of a config that parse_config accepts and whose `workspace:` is `workspace_id`;
    Invalid (400) listing every problem (`problems`: path and reason) otherwise."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_CONFIG_BYTES:
        raise Invalid(f"config: at most {MAX_CONFIG_BYTES} bytes of YAML ({MAX_CONFIG_BYTES // 1024} KiB), "
                      f"not {size}", problems=[{"path": "", "reason": "too long"}])
    file = f"workspace {workspace_id} config"
    problems: list[tuple[str, str]] = []
    numbers: list[str] = []
    try:
        data = read_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problems.append(("", f"not YAML{where}: {getattr(exc, 'problem', None) or exc}"))
        data = None
    except (RecursionError, ValueError) as exc:
        problems.append(("", f"not YAML: {type(exc).__name__}"))
        data = None
    if not problems and not _few_values(data):
        problems.append(("", f"more than {MAX_VALUES} values once its aliases are expanded"))
    if not problems:
        try:
            numbers = sorted(parse_config(data, file).numbers)
        except ConfigError as exc:
            problems.extend(exc.problems)
        except (TypeError, ValueError, AttributeError, KeyError, RecursionError) as exc:
            log.warning("%s: the checker failed on it", file, exc_info=True)
            problems.append(("", f"could not be checked ({type(exc).__name__})"))
        named = data.get("workspace") if isinstance(data, dict) else None
        if isinstance(named, str) and NAME.match(named) and named != workspace_id:
            problems.append(("workspace", f"must be {workspace_id!r} (the workspace's id), not {named!r}"))
    if problems:
        problems = [(path[:200], reason if len(reason) <= MAX_REASON else reason[:MAX_REASON] + "…")
                    for path, reason in problems[:MAX_PROBLEMS]]
        listed = "; ".join(f"{path or '(top)'}: {reason}" for path, reason in problems)
        raise Invalid(f"{file}: {listed}", problems=[{"path": path, "reason": reason} for path, reason in problems])
    return numbers


def _few_values(data) -> bool:
    """Whether `data` holds at most MAX_VALUES values, counting each alias's every use."""
    seen, stack = 0, [data]
    while stack:
        value = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            return False
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, (list, tuple)):
            stack.extend(value)
    return True


class Registry:
    def __init__(self, sql: sessionmaker, encryption_key: str, clock: Callable[[], datetime]):
        self.sql, self.clock = sql, clock
        self._fernet = Fernet(encryption_key.encode()) if encryption_key else None

    # -- secrets -------------------------------------------------------------------------------------
    def _sealed(self, token: str) -> str:
        if self._fernet is None:
            raise Conflict("ENCRYPTION_KEY is not set: no Twilio token can be kept")
        return self._fernet.encrypt(token.encode("utf-8")).decode("ascii")

    def twilio_auth_token(self, workspace_id: str) -> str:
        """The workspace's Twilio auth token, decrypted (never part of an answer)."""
        with self.sql() as s:
            ws = self._get(s, workspace_id)
            try:
                return self._fernet.decrypt(ws.twilio_auth_token_enc.encode("ascii")).decode("utf-8")
            except (InvalidToken, AttributeError):
                raise Conflict(f"workspace {workspace_id}: its Twilio token cannot be decrypted "
                               "with this ENCRYPTION_KEY") from None

    def is_admin(self, workspace_id: str, token: str) -> bool:
        with self.sql() as s:
            stored = s.scalar(select(Workspace.admin_token_hash).where(Workspace.id == workspace_id))
        return stored is not None and hmac.compare_digest(stored, token_hash(token))

    def workspace_of_admin(self, token: str) -> str | None:
        """The workspace whose admin token this is, or None."""
        with self.sql() as s:
            return s.scalar(select(Workspace.id).where(Workspace.admin_token_hash == token_hash(token)))

    # -- use cases -----------------------------------------------------------------------------------
    def create(self, workspace_id: str, sid: str, token: str, yaml_text: str, by: str) -> tuple[int, str]:
        """(its first version, its admin's token: shown only now)."""
        if not NAME.match(workspace_id):
            raise Invalid(f"id: bad workspace id {workspace_id!r} (letters, digits, '_' and '-', at most 48)")
        numbers = checked_numbers(workspace_id, yaml_text)
        admin_token = secrets.token_urlsafe(32)
        sealed = self._sealed(token)
        try:
            with self.sql.begin() as s:
                if s.get(Workspace, workspace_id) is not None:
                    raise Conflict(f"workspace {workspace_id} exists already")
                s.add(Workspace(id=workspace_id, twilio_account_sid=sid, twilio_auth_token_enc=sealed,
                                admin_token_hash=token_hash(admin_token), created_at=self.clock(), created_by=by))
                s.flush()
                self._add_version(s, workspace_id, 1, yaml_text, by, None, numbers)
        except IntegrityError:
            raise Conflict(f"workspace {workspace_id} was created meanwhile, or one of its numbers taken") from None
        return 1, admin_token

    def all_workspaces(self) -> list[dict]:
        with self.sql() as s:
            rows = s.execute(select(Workspace.id, func.max(WorkspaceConfig.version))
                             .join(WorkspaceConfig, WorkspaceConfig.workspace == Workspace.id)
                             .group_by(Workspace.id).order_by(Workspace.id)).all()
        return [{"id": ws, "version": version} for ws, version in rows]

    def config(self, workspace_id: str) -> tuple[int, str]:
        """(the current version, its YAML text)."""
        with self.sql() as s:
            self._get(s, workspace_id)
            row = s.scalars(select(WorkspaceConfig).where(WorkspaceConfig.workspace == workspace_id)
                            .order_by(WorkspaceConfig.version.desc()).limit(1)).one()
            return row.version, row.yaml

    def put_config(self, workspace_id: str, yaml_text: str, by: str, note: str | None = None) -> int:
        """A new version (checked); its number."""
        with self.sql() as s:
            self._get(s, workspace_id)
        numbers = checked_numbers(workspace_id, yaml_text)
        return self._new_version(workspace_id, yaml_text, by, note, numbers)

    def history(self, workspace_id: str) -> list[dict]:
        """Every version, newest first: version, created_at, author, note."""
        with self.sql() as s:
            self._get(s, workspace_id)
            rows = s.execute(select(WorkspaceConfig.version, WorkspaceConfig.created_at, WorkspaceConfig.author,
                                    WorkspaceConfig.note).where(WorkspaceConfig.workspace == workspace_id)
                             .order_by(WorkspaceConfig.version.desc())).all()
        return [{"version": v, "created_at": at.isoformat(), "author": a, "note": n} for v, at, a, n in rows]

    def rollback(self, workspace_id: str, version: int, by: str) -> int:
        """A new version whose text is `version`'s (checked again: its numbers may be taken since)."""
        with self.sql() as s:
            self._get(s, workspace_id)
            old = s.get(WorkspaceConfig, (workspace_id, version))
            if old is None:
                raise NotFound(f"workspace {workspace_id} has no config version {version}")
            text = old.yaml
        numbers = checked_numbers(workspace_id, text)
        return self._new_version(workspace_id, text, by, f"rollback to version {version}", numbers)

    # -- inside -------------------------------------------------------------------------------------
    @staticmethod
    def _get(s: Session, workspace_id: str) -> Workspace:
        ws = s.get(Workspace, workspace_id)
        if ws is None:
            raise NotFound(f"no workspace {workspace_id}")
        return ws

    def _new_version(self, workspace_id: str, text: str, by: str, note: str | None, numbers: list[str]) -> int:
        try:
            with self.sql.begin() as s:
                current = s.scalar(select(func.max(WorkspaceConfig.version))
                                   .where(WorkspaceConfig.workspace == workspace_id)) or 0
                self._add_version(s, workspace_id, current + 1, text, by, note, numbers)
        except IntegrityError:
            raise Conflict(f"workspace {workspace_id}: its config changed meanwhile, or one of its numbers "
                           "was taken; try again") from None
        return current + 1

    def _add_version(self, s: Session, workspace_id: str, version: int, text: str, by: str, note: str | None,
                     numbers: list[str]) -> None:
        """The version and its numbers (replacing the workspace's), or Conflict naming numbers of others."""
        if numbers:
            taken = s.execute(select(WorkspaceNumber.e164, WorkspaceNumber.workspace)
                              .where(WorkspaceNumber.e164.in_(numbers), WorkspaceNumber.workspace != workspace_id)
                              ).all()
            if taken:
                raise Conflict("numbers of another workspace: " + ", ".join(sorted(e164 for e164, _ in taken)),
                               numbers=sorted(e164 for e164, _ in taken))
        s.add(WorkspaceConfig(workspace=workspace_id, version=version, yaml=text, created_at=self.clock(),
                              author=by, note=(note or None) and note[:MAX_NOTE]))
        s.execute(delete(WorkspaceNumber).where(WorkspaceNumber.workspace == workspace_id))
        s.add_all(WorkspaceNumber(e164=e164, workspace=workspace_id) for e164 in numbers)
        s.flush()
