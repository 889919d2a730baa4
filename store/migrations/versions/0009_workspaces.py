"""Workspaces (issue 19, first part): the operator's registry of contact centers, each config version
as YAML text, and the numbers of each workspace's current config (one workspace per number).

Revision ID: 0009_workspaces
Revises: 0008_call_rules
Create Date: 2026-12-08
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0009_workspaces"
down_revision: Union[str, None] = "0008_call_rules"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "workspaces",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("twilio_account_sid", sa.String(64), nullable=False),
        sa.Column("twilio_auth_token_enc", sa.Text(), nullable=False),
        sa.Column("admin_token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_workspaces"),
    )
    op.create_index("ix_workspaces_admin_token_hash", "workspaces", ["admin_token_hash"], unique=True)
    op.create_table(
        "workspace_configs",
        sa.Column("workspace", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("yaml", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["workspace"], ["workspaces.id"], name="fk_workspace_configs_workspace_workspaces",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("workspace", "version", name="pk_workspace_configs"),
    )
    op.create_table(
        "workspace_numbers",
        sa.Column("e164", sa.String(32), nullable=False),
        sa.Column("workspace", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["workspace"], ["workspaces.id"], name="fk_workspace_numbers_workspace_workspaces",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("e164", name="pk_workspace_numbers"),
    )
    op.create_index("ix_workspace_numbers_workspace", "workspace_numbers", ["workspace"])


def downgrade() -> None:
    op.drop_index("ix_workspace_numbers_workspace", table_name="workspace_numbers")
    op.drop_table("workspace_numbers")
    op.drop_table("workspace_configs")
    op.drop_index("ix_workspaces_admin_token_hash", table_name="workspaces")
    op.drop_table("workspaces")
