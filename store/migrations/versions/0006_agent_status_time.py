"""Agent status time: each agent's seconds per status (a break per reason) per day, for the reports
by agent (logged-in time, occupancy, breaks).

Revision ID: 0006_agent_status_time
Revises: 0005_call_segments
Create Date: 2026-12-06
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0006_agent_status_time"
down_revision: Union[str, None] = "0005_call_segments"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "agent_status_time",
        sa.Column("workspace", sa.String(64), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("workspace", "day", "agent", "status", "reason"),
    )


def downgrade() -> None:
    op.drop_table("agent_status_time")
