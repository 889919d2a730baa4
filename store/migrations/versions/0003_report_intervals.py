"""Report intervals: talk and wrap-up time on call records, and the 15-minute interval table.

Revision ID: 0003_report_intervals
Revises: 0002_agent_auto_accept
Create Date: 2026-11-23
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0003_report_intervals"
down_revision: Union[str, None] = "0002_agent_auto_accept"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

COUNTS = ("calls", "self_service", "offered", "answered", "answered_sl", "abandoned", "short_abandoned",
          "overflowed", "callbacks")
SECONDS = ("answer_wait_s", "talk_s", "wrap_s")


def upgrade() -> None:
    with op.batch_alter_table("call_records") as batch:
        batch.add_column(sa.Column("talk_s", sa.Float(), nullable=True))
        batch.add_column(sa.Column("wrap_s", sa.Float(), nullable=True))
    op.create_index("ix_call_records_arrived_at", "call_records", ["arrived_at"])
    op.create_table(
        "interval_stats",
        sa.Column("workspace", sa.String(64), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),   # UTCDateTime in the model
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS],
        *[sa.Column(name, sa.Float(), nullable=False) for name in SECONDS],
        sa.Column("repeat_24h", sa.Integer(), nullable=False),
        sa.Column("csat_sum", sa.Integer(), nullable=False),
        sa.Column("csat_n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("workspace", "start", "queue", "agent", name="pk_interval_stats"),
    )


def downgrade() -> None:
    op.drop_table("interval_stats")
    op.drop_index("ix_call_records_arrived_at", table_name="call_records")
    with op.batch_alter_table("call_records") as batch:
        batch.drop_column("wrap_s")
        batch.drop_column("talk_s")
