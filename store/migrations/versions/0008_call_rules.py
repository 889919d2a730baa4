"""Call rules: the routing rules each call took (a flow's route node, a queue's rules as the call
joined it), written with its call record, for the reports by rule.

Revision ID: 0008_call_rules
Revises: 0007_contact_fields
Create Date: 2026-12-07
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0008_call_rules"
down_revision: Union[str, None] = "0007_contact_fields"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "call_rules",
        sa.Column("workspace", sa.String(64), nullable=False),
        sa.Column("call_sid", sa.String(34), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("flow", sa.String(64), nullable=False),
        sa.Column("node", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("rule", sa.Integer(), nullable=False),
        sa.Column("expression", sa.Text(), nullable=True),
        sa.Column("target", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("workspace", "call_sid", "seq"),
    )
    op.create_index("ix_call_rules_workspace_day", "call_rules", ["workspace", "day"])


def downgrade() -> None:
    op.drop_index("ix_call_rules_workspace_day", table_name="call_rules")
    op.drop_table("call_rules")
