"""What the JSON API answers: each `/api` operation's answer bodies as pydantic models, for
`/api/openapi.json` (webhooks/openapi.py writes their `model_json_schema()` into it). The handlers
answer the domain's dicts as they are; the API test (tests/test_api_answers_as_its_openapi_says.py)
checks with schemathesis that every answer of the running service conforms to these.

Answers may grow: a model lists the fields a client can rely on, and other fields may appear.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

STATUSES = ("available", "reserved", "busy", "wrapup", "break", "offline")
Status = Literal[STATUSES]     # type: ignore[valid-type]


class Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


class Error(Answer):
    """Every refusal: 400 (what is wrong, naming the field), 401, 403, 404, 409 (a conflict may add
    details, e.g. the agent's `status`), 502 and 503 (with `Retry-After`)."""
    error: str


class Media:
    """An answer that is not JSON: its media type and the schema of its text."""

    def __init__(self, media_type: str, description: str, schema: dict | None = None):
        self.media_type, self.description, self.schema = media_type, description, schema or {"type": "string"}


EVENT_STREAM = Media("text/event-stream", "Server-Sent Events, until the client closes the stream")
CSV = Media("text/csv", "the same rows as a CSV file (an attachment)")


# -- health and figures ----------------------------------------------------------------------------
class Health(Answer):
    redis: str = Field(description='"ok", or "down: <reason>"')
    database: str = Field(description='"ok", or "down: <reason>"')


class QueueToday(Answer):
    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    service_level: float | None
    asa_s: float | None
    aht_s: float | None
    longest_wait_s: float
    callbacks: int
    overflowed: int
    transferred_in: int = Field(description="calls transferred into the queue today")
    transferred_out: int = Field(description="calls transferred out of the queue today")
    hold_s: float = Field(description="seconds callers of the queue were on hold today")


class QueueFigures(Answer):
    waiting: int
    longest_wait_s: float
    callbacks_pending: int
    agents: dict[str, int] = Field(description="agents holding the queue's skills, by status")
    today: QueueToday
    staffing: dict[str, Any]


class AgentFigures(Answer):
    status: Status | None
    since: str | None
    calls: int
    talk_s: float
    occupancy: float | None
    missed: int
    hold_s: float = Field(description="seconds the agent's callers were on hold today")
    call_sid: str | None = Field(description="the call the agent is offered, on or wrapping up")
    monitor: dict[str, str] | None = Field(description="who monitors the agent's call and how: {by, mode}")
    reason: str | None = Field(None, description="why the agent is on break (one of the config's break_reasons)")
    breaks: dict[str, float] = Field({}, description="today's break time per reason, seconds")


class Figures(Answer):
    """The live figures (CONTRACT.md, "Stats")."""
    queues: dict[str, QueueFigures]
    agents: dict[str, AgentFigures]
    self_service: int


class IntervalPoint(Answer):
    start: str
    offered: int
    answered: int
    abandoned: int
    service_level: float | None
    asa_s: float | None
    waiting_avg: float | None
    waiting_peak: int | None


class Intervals(Answer):
    day: str
    timezone: str
    queues: dict[str, list[IntervalPoint]]


# -- agents ----------------------------------------------------------------------------------------
class Agent(Answer):
    id: str
    name: str
    status: Status
    since: str | None = Field(description="when the agent entered the status (ISO 8601)")
    skills: dict[str, int]
    timezone: str
    schedule: dict[str, Any] | None
    languages: list[str]
    auto_accept: bool
    on_shift: bool


class AgentAnswer(Answer):
    agent: Agent


class AgentList(Answer):
    agents: list[Agent]


class AgentCreated(Answer):
    agent: Agent
    token: str = Field(description="the agent's API token, shown once")


class Deleted(Answer):
    deleted: str


class StatusAnswer(Answer):
    status: Status


class Credentials(Answer):
    agent_id: str
    token: str


class SoftphoneToken(Answer):
    identity: str = Field(description="what <Client> dials")
    token: str = Field(description="a Twilio access token (JWT)")


class AgentCall(Answer):
    call_sid: str
    caller: str | None = Field(alias="from")
    contact: str | None
    queue: str | None
    arrived_at: str | None
    answered_at: str | None
    ended_at: str | None
    duration_s: float | None
    outcome: str | None
    disposition: str | None
    notes: str | None


class AgentDay(Answer):
    agent: str
    day: str = Field(description="the (first) day")
    timezone: str
    calls: list[AgentCall]
    since: str | None = Field(None, alias="from", description="a range's first day")
    until: str | None = Field(None, alias="to", description="a range's last day")


class QueueSettings(Answer):
    skills: dict[str, int] = Field({}, description="the skills (and levels) the queue's callers need")
    dispositions: list[str]
    offer_timeout_s: float
    wrapup_s: float
    service_level_s: float
    service_level_target: float
    alerts: dict[str, float | None] = Field({}, description="the board's alert thresholds: longest_wait_s, "
                                                            "service_level, waiting (null: none)")


class Queues(Answer):
    queues: dict[str, QueueSettings]


# -- calls -----------------------------------------------------------------------------------------
class ReservationAnswer(Answer):
    reservation_id: str
    status: Literal["accepted", "rejected"]


class WaitingCaller(Answer):
    call_sid: str
    queue: str
    position: int | None = Field(description="place in the queue's line, 1 first (none while offered)")
    state: Literal["waiting", "offered"] = Field(description="offered: an agent is being offered the caller now")
    waited_s: float
    priority: int = Field(description="points of priority the caller's place carries (queue, VIP, rules)")
    skills: dict[str, int] = Field(description="the skills the caller needs now (after escalations)")
    callback: bool = Field(description="a request to be called back, not a caller on hold")
    offered_to: str | None = Field(description="the agent being offered the caller now")
    journey: list[str]
    caller: str | None = Field(None, alias="from")
    contact: str | None = None


class WaitingList(Answer):
    callers: list[WaitingCaller]


class Assigned(Answer):
    call_sid: str
    agent: str
    reservation_id: str


class CallNotes(Answer):
    call_sid: str
    agent: str
    notes: str


class WrapUpAnswer(Answer):
    call_sid: str
    agent: str
    status: Status | None = Field(description="the agent's status after the wrap-up")


class PastCall(Answer):
    call_sid: str
    caller: str | None = Field(alias="from")
    to: str | None
    queue: str | None
    outcome: str | None
    agent_id: str | None
    arrived_at: str | None
    enqueued_at: str | None
    offered_at: str | None
    answered_at: str | None
    ended_at: str | None
    duration_s: float | None
    talk_s: float | None
    wrap_s: float | None
    disposition: str | None
    notes: str | None
    ivr_path: list[Any]


class CallTimelineEntry(Answer):
    at: str | None
    text: str


class OneCall(PastCall):
    """One past call whole (`GET /api/calls/{call_sid}`)."""
    contact: str | None
    journey: list[dict[str, Any]]
    segments: list[dict[str, Any]]
    csat: int | None
    voicemail_transcript: str | None
    recording: bool = Field(description="a recording is kept: GET /api/calls/{call_sid}/recording plays it")
    agent_names: dict[str, str]
    timeline: list[CallTimelineEntry]


class HistoryPage(Answer):
    since: str = Field(alias="from")
    until: str = Field(alias="to")
    timezone: str
    calls: list[PastCall]
    next: str | None = Field(description="the cursor of the next page; null on the last")


class ScreenPop(Answer):
    """The screen pop (CONTRACT.md, "Screen pop")."""
    caller: dict[str, Any]
    contact: dict[str, Any] | None
    journey: list[Any]
    wait_s: float
    repeat_caller: bool
    history: list[dict[str, Any]]
    missing: list[str]


class Report(Answer):
    by: str
    since: str = Field(alias="from")
    until: str = Field(alias="to")
    timezone: str
    rows: list[dict[str, Any]]
