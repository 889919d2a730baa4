"""Workspaces (issue 19, first part): the operator's registry and each workspace's config, versioned.

    POST /api/workspaces                              operator: a workspace, its first config, its admin token
    GET  /api/workspaces                              operator: ids and current versions
    GET  /api/workspaces/<id>/config                  the operator or its admin: the current YAML and version
    PUT  /api/workspaces/<id>/config                  a new version, checked
    GET  /api/workspaces/<id>/config/history          every version: who, when, note
    POST /api/workspaces/<id>/config/rollback         a new version with an old version's text

All of them answer 404 when OPERATOR_TOKEN is unset. Calls are not served from these configs yet.
"""
from __future__ import annotations

from typing import Annotated

from flask import Blueprint, jsonify
from pydantic import Field

from workspaces.registry import MAX_CONFIG_BYTES, MAX_NOTE

from .answers import Answer
from .auth import Principal
from .deps import services
from .openapi import operation
from .schemas import Body, Name, line, text

bp = Blueprint("workspaces_api", __name__, url_prefix="/api")

WORKSPACE = {"workspace_id": Name}
AccountSid = Annotated[str, Field(pattern=r"^AC[0-9a-fA-F]{32}$", min_length=34, max_length=34,
                                  description="the workspace's Twilio account SID")]
ConfigText = Annotated[text(MAX_CONFIG_BYTES), Field(description="the contact-center config, YAML text "
                                                                 f"(at most {MAX_CONFIG_BYTES // 1024} KiB)")]


class WorkspaceNew(Body):
    id: Name
    twilio_account_sid: AccountSid
    twilio_auth_token: line(1, 128) = Field(description="kept encrypted (ENCRYPTION_KEY); never answered")
    config: ConfigText


class ConfigChange(Body):
    config: ConfigText
    note: line(0, MAX_NOTE) | None = None


class Rollback(Body):
    version: Annotated[int, Field(strict=True, ge=1, le=2 ** 31 - 1)]


class WorkspaceRef(Answer):
    id: str
    version: int


class WorkspaceCreated(Answer):
    """The workspace and its admin's token (shown only now)."""
    workspace: WorkspaceRef
    admin_token: str


class WorkspaceChanged(Answer):
    """The workspace and its new current version."""
    workspace: WorkspaceRef


class WorkspaceList(Answer):
    """Every workspace with its current config version."""
    workspaces: list[WorkspaceRef]


class WorkspaceConfig(Answer):
    """The current config: its YAML text and version."""
    workspace: str
    version: int
    config: str


class ConfigVersion(Answer):
    version: int
    created_at: str
    author: str
    note: str | None


class ConfigHistory(Answer):
    """Every version, newest first."""
    workspace: str
    versions: list[ConfigVersion]


def _author(who: Principal) -> str:
    return "operator" if who.kind == "operator" else "admin"


@bp.post("/workspaces")
@operation(summary="Create a workspace", auth="operator", body=WorkspaceNew, answers={201: WorkspaceCreated},
           errors=(404, 409, 503))
def create_workspace(body: WorkspaceNew, who: Principal):
    """The config is checked as at start (400 lists every problem's path in `problems`) and its
    `workspace:` must be the id; its numbers must not belong to another workspace (409)."""
    version, admin_token = services().workspaces.create(body.id, body.twilio_account_sid, body.twilio_auth_token,
                                                         body.config, _author(who))
    return jsonify(workspace={"id": body.id, "version": version}, admin_token=admin_token), 201


@bp.get("/workspaces")
@operation(summary="List the workspaces", auth="operator", answers={200: WorkspaceList}, errors=(404, 503))
def list_workspaces():
    return jsonify(workspaces=services().workspaces.all_workspaces())


@bp.get("/workspaces/<workspace_id>/config")
@operation(summary="A workspace's current config", auth="workspace_admin_or_operator", path=WORKSPACE,
           answers={200: WorkspaceConfig}, errors=(503,))
def get_config(workspace_id: str):
    version, yaml_text = services().workspaces.config(workspace_id)
    return jsonify(workspace=workspace_id, version=version, config=yaml_text)


@bp.put("/workspaces/<workspace_id>/config")
@operation(summary="A new version of a workspace's config", auth="workspace_admin_or_operator", path=WORKSPACE,
           body=ConfigChange, answers={200: WorkspaceChanged}, errors=(409, 503))
def put_config(workspace_id: str, body: ConfigChange, who: Principal):
    """Checked as at start (400 with every problem's path); not live for calls yet."""
    version = services().workspaces.put_config(workspace_id, body.config, _author(who), body.note)
    return jsonify(workspace={"id": workspace_id, "version": version})


@bp.get("/workspaces/<workspace_id>/config/history")
@operation(summary="A workspace's config versions", auth="workspace_admin_or_operator", path=WORKSPACE,
           answers={200: ConfigHistory}, errors=(503,))
def config_history(workspace_id: str):
    return jsonify(workspace=workspace_id, versions=services().workspaces.history(workspace_id))


@bp.post("/workspaces/<workspace_id>/config/rollback")
@operation(summary="Roll a workspace's config back", auth="workspace_admin_or_operator", path=WORKSPACE,
           body=Rollback, answers={200: WorkspaceChanged}, errors=(409, 503))
def rollback_config(workspace_id: str, body: Rollback, who: Principal):
    """A new version whose text is the given version's (its numbers checked again)."""
    version = services().workspaces.rollback(workspace_id, body.version, _author(who))
    return jsonify(workspace={"id": workspace_id, "version": version})
