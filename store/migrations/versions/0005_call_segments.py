"""Call segments: the parts of a call (each agent's talk, hold, consult, transfers, wrap-ups), its
hold time and how many times it was transferred, on the call record; transferred calls and hold time
in the report intervals.

Revision ID: 0005_call_segments
Revises: 0004_people_and_audit
Create Date: 2026-12-05
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0005_call_segments"
down_revision: Union[str, None] = "0004_people_and_audit"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("call_records") as batch:
        batch.add_column(sa.Column("segments", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("hold_s", sa.Float(), nullable=True))
        batch.add_column(sa.Column("transfers", sa.Integer(), nullable=True))
    with op.batch_alter_table("interval_stats") as batch:
        batch.add_column(sa.Column("transferred", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("hold_s", sa.Float(), nullable=False, server_default="0"))
    with op.batch_alter_table("interval_stats") as batch:      # the rows there are 0; new ones say theirs
        batch.alter_column("transferred", server_default=None)
        batch.alter_column("hold_s", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("interval_stats") as batch:
        batch.drop_column("hold_s")
        batch.drop_column("transferred")
    with op.batch_alter_table("call_records") as batch:
        batch.drop_column("transfers")
        batch.drop_column("hold_s")
        batch.drop_column("segments")
