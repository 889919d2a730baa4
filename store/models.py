"""SQL schema: agents, the built-in CRM (contacts + phones) and call records.

Written once for SQLite (development, single host) and PostgreSQL
(production): only portable types are used, JSON goes through
``sqlalchemy.JSON`` and every timestamp is an aware UTC datetime.
The Alembic revision in store/migrations must match this file exactly;
tests/test_store.py checks that with autogenerate's compare_metadata.
Long because every table of the service is here, in one place the migrations are checked against.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates
from sqlalchemy.sql.expression import false
from sqlalchemy.types import TypeDecorator

# Named constraints keep migrations deterministic across backends, and
# Alembic's SQLite batch mode cannot drop or alter unnamed constraints later.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

CALL_OUTCOMES = (
    "ivr_hangup",
    "self_service",
    "voicemail",
    "transferred",
    "abandoned",
    "answered",
    "overflowed",
    "failed",
)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """DateTime that always hands back aware UTC datetimes.

    SQLite has no time zone support and returns naive values; PostgreSQL
    returns them in the session time zone. Naive input is taken as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    # Python-side defaults (not server defaults) so the value is identical on
    # both backends and no dialect-specific now() ends up in the migration.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )


class Agent(TimestampMixin, Base):
    __tablename__ = "agents"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # slug, e.g. "alice"
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    skills: Mapped[dict[str, int]] = mapped_column(JSON, default=dict, nullable=False)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list, nullable=False)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", nullable=False)
    # Weekly spec exactly as written in config, e.g. {"mon-fri": "09:00-17:00"};
    # None means always on shift.
    schedule: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    token_hash: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # Offers are accepted for the agent at once (their softphone still rings): for agents
    # who take every call, and for unattended test lines.
    auto_accept: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), nullable=False)

    def __repr__(self) -> str:
        return f"<Agent {self.id}>"


class Contact(TimestampMixin, Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    company: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # Floats rather than Decimal: SQLite has no decimal type (SQLAlchemy warns
    # and converts through float anyway); the validator rounds to cents so
    # both backends hand back the same value.
    account_value: Mapped[float | None] = mapped_column(
        Numeric(14, 2, asdecimal=False), nullable=True
    )
    tier: Mapped[str | None] = mapped_column(String(32), nullable=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list, nullable=False)
    # custom fields (config `contact_fields` names them and their types): routing rules read them
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)

    phones: Mapped[list["ContactPhone"]] = relationship(
        back_populates="contact",
        cascade="all, delete-orphan",
        passive_deletes=True,  # the database cascades; no per-row deletes
        order_by="ContactPhone.id",
    )

    @validates("account_value")
    def _round_cents(self, _key: str, value: Any) -> float | None:
        return None if value is None else round(float(value), 2)

    def __repr__(self) -> str:
        return f"<Contact {self.id} {self.name!r}>"


class ContactPhone(Base):
    __tablename__ = "contact_phones"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False
    )
    # One owner per number: the screen pop must resolve a caller unambiguously.
    e164: Mapped[str] = mapped_column(String(20), unique=True, index=True, nullable=False)

    contact: Mapped[Contact] = relationship(back_populates="phones")

    def __repr__(self) -> str:
        return f"<ContactPhone {self.e164}>"


class CallRecord(TimestampMixin, Base):
    __tablename__ = "call_records"

    call_sid: Mapped[str] = mapped_column(String(34), primary_key=True)
    workspace: Mapped[str] = mapped_column(String(64), default="default", nullable=False)
    # Nullable: a late webhook (recording, transcription) may create the row
    # before the one that knows the numbers; the later write fills them in.
    from_number: Mapped[str | None] = mapped_column(String(64), nullable=True)
    to_number: Mapped[str | None] = mapped_column(String(64), nullable=True)  # may be "client:alice"
    flow: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ivr_path: Mapped[list[str]] = mapped_column(JSON, default=list, nullable=False)
    # [{"node", "kind": "digits"|"speech", "value", "at"}]
    ivr_inputs: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, nullable=False)
    journey: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, nullable=False)
    queue: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Never NULL so "newest first" sorts the same on both backends (PostgreSQL
    # would put NULLs first in DESC order, SQLite last).
    arrived_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    duration_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)  # see CALL_OUTCOMES
    # No FK: records must outlive the agents they mention.
    agent_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), nullable=True
    )
    disposition: Mapped[str | None] = mapped_column(String(64), nullable=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    csat: Mapped[int | None] = mapped_column(Integer, nullable=True)
    recording_url: Mapped[str | None] = mapped_column(String(512), nullable=True)
    recording_duration_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    voicemail_transcript: Mapped[str | None] = mapped_column(Text, nullable=True)
    talk_s: Mapped[float | None] = mapped_column(Float, nullable=True)     # agent connected -> hang-up
    wrap_s: Mapped[float | None] = mapped_column(Float, nullable=True)     # hang-up -> wrap-up done
    hold_s: Mapped[float | None] = mapped_column(Float, nullable=True)     # the caller on hold, all agents
    transfers: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # the parts of the call (acd/lua segment()): each agent's talk, hold, consult, transfer, wrap-up
    segments: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)

    __table_args__ = (
        Index("ix_call_records_arrived_at", "arrived_at"),
        Index("ix_call_records_from_number_arrived_at", "from_number", "arrived_at"),
        Index("ix_call_records_queue_arrived_at", "queue", "arrived_at"),
        Index("ix_call_records_agent_id_arrived_at", "agent_id", "arrived_at"),
    )

    def __repr__(self) -> str:
        return f"<CallRecord {self.call_sid} {self.outcome or '-'}>"


class IntervalStat(Base):
    """Report figures of one 15-minute interval (by the calls that arrived in it), per queue and
    agent: `queue` "" holds the calls that never queued (the IVR), `agent` "" a queue's totals.
    Sums and counts only, so any grouping (day, queue, agent) adds them up. Rewritten whole from the
    call records by the worker as calls end (store/intervals.py); reports read nothing else."""
    __tablename__ = "interval_stats"

    workspace: Mapped[str] = mapped_column(String(64), primary_key=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    queue: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent: Mapped[str] = mapped_column(String(64), primary_key=True)
    calls: Mapped[int] = mapped_column(Integer, default=0, nullable=False)          # arrivals
    self_service: Mapped[int] = mapped_column(Integer, default=0, nullable=False)   # ended in the IVR
    offered: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    answered: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    answered_sl: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    abandoned: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    short_abandoned: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    overflowed: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    callbacks: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    answer_wait_s: Mapped[float] = mapped_column(Float, default=0, nullable=False)
    talk_s: Mapped[float] = mapped_column(Float, default=0, nullable=False)
    wrap_s: Mapped[float] = mapped_column(Float, default=0, nullable=False)
    repeat_24h: Mapped[int] = mapped_column(Integer, default=0, nullable=False)  # answered, called again <= 24 h
    csat_sum: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    csat_n: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    transferred: Mapped[int] = mapped_column(Integer, default=0, nullable=False)   # answered, then transferred
    hold_s: Mapped[float] = mapped_column(Float, default=0, nullable=False)        # callers on hold, all agents

    def __repr__(self) -> str:
        return f"<IntervalStat {self.start:%Y-%m-%d %H:%M} {self.queue or '-'} {self.agent or '-'}>"



class AgentStatusTime(Base):
    """An agent's seconds in one status on one day of the contact center (a break per reason), copied
    from the ACD's day counters in Redis by the worker each minute (store/agent_time.py): what the
    reports by agent say about logged-in time, occupancy and breaks over any range of days."""
    __tablename__ = "agent_status_time"

    workspace: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)           # YYYY-MM-DD, the center's day
    agent: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)        # available, reserved, busy, ...
    reason: Mapped[str] = mapped_column(String(64), primary_key=True)        # a break's reason, else ""
    seconds: Mapped[float] = mapped_column(Float, default=0, nullable=False)

    def __repr__(self) -> str:
        return f"<AgentStatusTime {self.day} {self.agent} {self.status} {self.reason} {self.seconds:.0f}s>"

USER_ROLES = ("agent", "supervisor", "admin")


class User(TimestampMixin, Base):
    """A person who signs in: agents to /agent, supervisors and admins to /supervisor. Only the argon2
    hash of the password is kept; `totp_secret` is set once a second factor is confirmed (the pending
    one waits in `totp_pending` until the first code proves the authenticator app holds it)."""
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(256), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    agent_id: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("agents.id", ondelete="SET NULL"), nullable=True, index=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), nullable=False)
    totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    totp_pending: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The last TOTP step used: a code is good once (a replayed code within its 30 s is refused).
    totp_last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class AuditEntry(Base):
    """One state-changing request by a person or a token: who, in which role, what, on what, when and
    from where, and how it was answered."""
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    actor: Mapped[str] = mapped_column(String(64), nullable=False, index=True)   # username, "admin-token", agent id
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    action: Mapped[str] = mapped_column(String(64), nullable=False, index=True)  # e.g. "agent.status"
    target: Mapped[str] = mapped_column(String(200), nullable=False)
    method: Mapped[str] = mapped_column(String(8), nullable=False)
    path: Mapped[str] = mapped_column(String(300), nullable=False)
    status: Mapped[int] = mapped_column(Integer, nullable=False)
    address: Mapped[str] = mapped_column(String(64), nullable=False)


class CallRule(Base):
    """A routing rule a call took (issue 18), from its journey as its record is written (ivr/records.py):
    a flow's `route` node jumping to its first rule that held (`rule` -1: none held, the `else`), or a
    queue's rules that held as the call joined it (`target` the queue). Rewritten whole with the record;
    the reports by rule count the calls per rule with their outcomes (the record's)."""
    __tablename__ = "call_rules"
    __table_args__ = (Index("ix_call_rules_workspace_day", "workspace", "day"),)

    workspace: Mapped[str] = mapped_column(String(64), primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(34), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)               # order within the call
    day: Mapped[str] = mapped_column(String(10), nullable=False)              # YYYY-MM-DD, the center's day
    flow: Mapped[str] = mapped_column(String(64), nullable=False)
    node: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)              # "route" or "queue"
    rule: Mapped[int] = mapped_column(Integer, nullable=False)                # the rule's index; -1: else
    expression: Mapped[str | None] = mapped_column(Text, nullable=True)
    target: Mapped[str] = mapped_column(String(64), nullable=False)           # the next node; the queue

    def __repr__(self) -> str:
        return f"<CallRule {self.call_sid} {self.seq} {self.node} {self.kind} {self.rule}>"


class Workspace(Base):
    """A contact center of the cloud service (issue 19), created by the operator: its Twilio account (the
    auth token Fernet-encrypted with ENCRYPTION_KEY) and the SHA-256 of its admin's token."""
    __tablename__ = "workspaces"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)          # contactcenter/checker.py NAME
    twilio_account_sid: Mapped[str] = mapped_column(String(64), nullable=False)
    twilio_auth_token_enc: Mapped[str] = mapped_column(Text, nullable=False)
    admin_token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)


class WorkspaceConfig(Base):
    """Each version of a workspace's config (YAML text as sent); the highest is the current one."""
    __tablename__ = "workspace_configs"

    workspace: Mapped[str] = mapped_column(
        String(64), ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    yaml: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    author: Mapped[str] = mapped_column(String(64), nullable=False)          # "operator" or "admin"
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class WorkspaceNumber(Base):
    """The numbers of each workspace's current config: one workspace per number."""
    __tablename__ = "workspace_numbers"

    e164: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace: Mapped[str] = mapped_column(
        String(64), ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False, index=True)
