"""Initial schema: agents, contacts, contact_phones, call_records.

Revision ID: 0001_initial
Revises:
Create Date: 2025-11-23

Hand-written to match store/models.py; tests/test_store.py runs Alembic's
compare_metadata against a migrated database on SQLite and PostgreSQL, so a
model change without a new revision fails the suite.
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: Union[str, None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _timestamps() -> list[sa.Column]:
    # Plain DateTime(timezone=True): the UTCDateTime decorator in the models
    # only converts values in Python, the column type is the same.
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("schedule", sa.JSON(), nullable=True),
        sa.Column("token_hash", sa.String(length=128), nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_agents"),
    )

    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("company", sa.String(length=200), nullable=True),
        sa.Column("account_value", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("tier", sa.String(length=32), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_contacts"),
    )

    op.create_table(
        "contact_phones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("e164", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name="fk_contact_phones_contact_id_contacts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_contact_phones"),
    )
    # unique=True + index=True on the model column renders as a unique index.
    op.create_index("ix_contact_phones_e164", "contact_phones", ["e164"], unique=True)

    op.create_table(
        "call_records",
        sa.Column("call_sid", sa.String(length=34), nullable=False),
        sa.Column("workspace", sa.String(length=64), nullable=False),
        sa.Column("from_number", sa.String(length=64), nullable=True),
        sa.Column("to_number", sa.String(length=64), nullable=True),
        sa.Column("flow", sa.String(length=64), nullable=True),
        sa.Column("ivr_path", sa.JSON(), nullable=False),
        sa.Column("ivr_inputs", sa.JSON(), nullable=False),
        sa.Column("journey", sa.JSON(), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_s", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("agent_id", sa.String(length=64), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("disposition", sa.String(length=64), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("csat", sa.Integer(), nullable=True),
        sa.Column("recording_url", sa.String(length=512), nullable=True),
        sa.Column("recording_duration_s", sa.Integer(), nullable=True),
        sa.Column("voicemail_transcript", sa.Text(), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name="fk_call_records_contact_id_contacts",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("call_sid", name="pk_call_records"),
    )
    op.create_index(
        "ix_call_records_from_number_arrived_at", "call_records", ["from_number", "arrived_at"]
    )
    op.create_index("ix_call_records_queue_arrived_at", "call_records", ["queue", "arrived_at"])
    op.create_index(
        "ix_call_records_agent_id_arrived_at", "call_records", ["agent_id", "arrived_at"]
    )


def downgrade() -> None:
    # Reverse order of creation: call_records and contact_phones reference contacts.
    op.drop_index("ix_call_records_agent_id_arrived_at", table_name="call_records")
    op.drop_index("ix_call_records_queue_arrived_at", table_name="call_records")
    op.drop_index("ix_call_records_from_number_arrived_at", table_name="call_records")
    op.drop_table("call_records")
    op.drop_index("ix_contact_phones_e164", table_name="contact_phones")
    op.drop_table("contact_phones")
    op.drop_table("contacts")
    op.drop_table("agents")
