"""What the call-control API accepts and answers (webhooks/controls_api.py), as pydantic models
with their bounds: the request bodies and the answers `/api/openapi.json` describes."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from .answers import Answer
from .schemas import Body, Name, line, text

PHONE_PATTERN = r"^\+[1-9][0-9]{6,14}$"
Phone = line(8, 16)
MAX_TRANSFER_NOTES = 2000         # acd/transfers.py


class Target(Body):
    """Exactly one of: an agent, a queue, an outside number (E.164)."""
    agent: Name | None = None
    queue: Name | None = None
    number: str | None = Field(None, pattern=PHONE_PATTERN, max_length=16)


class PartyTarget(Body):
    agent: Name | None = None
    number: str | None = Field(None, pattern=PHONE_PATTERN, max_length=16)


def one_target(target: Body) -> dict:
    """The one field given, as the domain takes it ({} when none or several: the domain says why)."""
    given = {k: v for k, v in target.model_dump().items() if v is not None}
    return given if len(given) == 1 else {}


class HoldBody(Body):
    hold: bool


class MuteBody(Body):
    mute: bool


class TransferBody(Body):
    to: Target
    mode: Literal["cold", "warm"] = "cold"
    notes: text(MAX_TRANSFER_NOTES) = None


class ConferenceBody(Body):
    add: PartyTarget | None = None
    remove: line(1, 80) = None


class MonitorBody(Body):
    mode: Literal["listen", "whisper", "barge", "off"]


class HoldAnswer(Answer):
    call_sid: str
    hold: bool
    hold_s: float


class MuteAnswer(Answer):
    call_sid: str
    mute: bool


class TransferStarted(Answer):
    transfer_id: str
    state: Literal["ringing", "completed"]
    agent: str | None = Field(None, description="a warm transfer's target agent (for a queue: the one chosen)")


class TransferAnswer(Answer):
    transfer: dict


class PartyAnswer(Answer):
    party_id: str
    state: str


class LeaveAnswer(Answer):
    call_sid: str
    state: str


class MonitorAnswer(Answer):
    identity: str
    mode: Literal["listen", "whisper", "barge", "off"]


class Controls(Answer):
    call_sid: str
    state: str | None
    agent: str | None
    queue: str | None
    hold: bool
    held_since: float | None
    hold_s: float
    mute: bool
    transfer: dict | None
    parties: list[dict]
    monitors: list[dict]


class DirectoryAgent(Answer):
    id: str
    name: str
    status: str
    since: float | None
    on_shift: bool
    queues: list[str]


class DirectoryQueue(Answer):
    name: str
    waiting: int
    available: int
    free: list[str]


class Directory(Answer):
    agents: list[DirectoryAgent]
    queues: list[DirectoryQueue]
