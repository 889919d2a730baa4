"""Contact fields: the built-in CRM's custom fields per contact (a JSON object), which routing rules
read as `contact.<field>` and the screen pop shows.

Revision ID: 0007_contact_fields
Revises: 0006_agent_status_time
Create Date: 2026-12-06
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0007_contact_fields"
down_revision: Union[str, None] = "0006_agent_status_time"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("fields", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("contacts") as batch:     # existing rows are filled; new ones by the model
        batch.alter_column("fields", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("fields")
