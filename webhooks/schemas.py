"""What the JSON API accepts: the request bodies, query strings and path parameters of every `/api`
operation as pydantic models with their bounds. webhooks/openapi.py validates each request with them
and writes `/api/openapi.json` from the same models (`model_json_schema()`), so the description is
never a hand-kept copy. What the API answers is in webhooks/answers.py.

Bounds everywhere: names and ids are `[A-Za-z0-9_-]`, at most 48 or 64 characters; free text has a
length limit and no control characters (NUL breaks PostgreSQL); whole numbers in a query string are
ASCII decimal digits only (`str.isdecimal()` would let `²`-like characters through to `int()`);
days are `YYYY-MM-DD` from 2000-01-01 to 2100-12-31.

Where the domain has always answered in its own words (an agent's `agent.<field>: <reason>`), the
types here answer in the same words (`reworded`).
"""
from __future__ import annotations

from datetime import date
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, WrapValidator
from pydantic_core import PydanticCustomError

from store.models import CALL_OUTCOMES
from store.reports import GROUPINGS

FIRST_YEAR, LAST_YEAR = 2000, 2100
SETTABLE_STATUSES = ("available", "break", "offline")      # acd/agents.py SETTABLE
MAX_DISPOSITION = 64                                         # acd/wrapup.py
MAX_NOTES = 4000
MAX_NAME_TEXT = 100


def reworded(message: str) -> WrapValidator:
    """Any failure of the wrapped type answers `message` (`{value!r}` is the value given)."""
    def validate(value, handler):
        try:
            return handler(value)
        except ValidationError:
            raise PydanticCustomError("invalid", message.format(value=str(value)[:60])) from None
    return WrapValidator(validate)


def _ascii_digits(value):
    """A query string's whole number: ASCII digits only (`²`, `١`, `1_0`, ` 1`, `1.0` are not)."""
    if isinstance(value, str) and not (value.isascii() and value.isdecimal() and len(value) <= 9):
        raise PydanticCustomError("digits", "must be a whole number written with the digits 0-9")
    return value


def query_int(low: int, high: int):
    return Annotated[int, Field(ge=low, le=high), BeforeValidator(_ascii_digits),
                     reworded(f"must be a whole number from {low} to {high}")]


def _real_day(value: str) -> str:
    if not FIRST_YEAR <= date.fromisoformat(value).year <= LAST_YEAR:     # ValueError: reworded
        raise ValueError("out of range")
    return value


DAY_PATTERN = r"^(20[0-9][0-9]|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
# A day from 2000-01-01 to 2100-12-31, as the text YYYY-MM-DD (the domain parses it).
Day = Annotated[str, Field(min_length=10, max_length=10, pattern=DAY_PATTERN, json_schema_extra={"format": "date"}),
                AfterValidator(_real_day),
                reworded(f"must be a date YYYY-MM-DD from {FIRST_YEAR}-01-01 to {LAST_YEAR}-12-31, not {{value!r}}")]
# `today` or a day.
TodayOrDay = Annotated[Literal["today"] | Day,
                      reworded(f"must be 'today' or a date YYYY-MM-DD from {FIRST_YEAR}-01-01 to {LAST_YEAR}-12-31")]

NAME_PATTERN = r"^[A-Za-z0-9_-]{1,48}$"
# An agent id, a queue or skill name (contactcenter/checker.py NAME).
Name = Annotated[str, Field(min_length=1, max_length=48, pattern=NAME_PATTERN),
                 reworded("bad name {value!r} (letters, digits, '_' and '-', at most 48)")]
# A reservation id or a CallSid: letters, digits, '_' and '-', at most 64.
Sid = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]{1,64}$")]


def line(low: int, high: int):
    """One line of text, `low` to `high` characters, no control characters."""
    return Annotated[str, Field(min_length=low, max_length=high, pattern=r"^[^\x00-\x1f\x7f]*$"),
                     reworded(f"must be one line of {low} to {high} characters, without control characters")]


def text(high: int):
    """Free text (notes) of at most `high` characters: lines and tabs, no other control characters."""
    return Annotated[str, Field(max_length=high, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"),
                     reworded(f"must be text of at most {high} characters, without control characters")]

Level = Annotated[int, Field(strict=True, ge=1, le=10), reworded("must be a whole number 1..10")]
TimeZone = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_+/-]{1,64}$",
                                examples=["Europe/Madrid", "America/New_York", "UTC"]),
                     reworded("unknown time zone {value!r} (use an IANA name such as Europe/Madrid)")]
Language = Annotated[str, Field(min_length=2, max_length=35, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")]
DaySpec = Annotated[str, Field(min_length=3, max_length=40, pattern=r"^[A-Za-z, -]{3,40}$",
                               examples=["mon-fri", "sat", "mon,wed"])]
TimeRanges = Annotated[str, Field(min_length=11, max_length=200, pattern=r"^[0-9:, -]{11,200}$",
                                  examples=["09:00-17:00", "08:00-12:00, 13:00-17:00"])]
Schedule = Annotated[dict[DaySpec, TimeRanges | Annotated[list[TimeRanges], Field(min_length=1, max_length=12)]],
                     Field(min_length=1, max_length=14)]
Skills = Annotated[dict[Name, Level], Field(max_length=50)]


def _no_null_defaults(schema: dict) -> None:
    """An optional field that may be left out but not sent as null: no `"default": null`."""
    for prop in schema.get("properties", {}).values():
        if prop.get("default", ...) is None:
            del prop["default"]


class Body(BaseModel):
    """A request body: a JSON object with these fields and no others. `error_root` prefixes the
    field paths of the 400 answer (`agent.name: is required`)."""
    model_config = ConfigDict(extra="forbid", json_schema_extra=_no_null_defaults)
    error_root: ClassVar[str] = ""


class Query(BaseModel):
    """A query string: these parameters (others are ignored)."""
    model_config = ConfigDict(extra="ignore", json_schema_extra=_no_null_defaults, populate_by_name=True)
    error_root: ClassVar[str] = ""


# -- path parameters, by name (openapi.py looks a rule's `<name>` up here) ------------------------
PATH_PARAMS = {"agent_id": Name, "rid": Sid, "call_sid": Sid}


# -- agents ----------------------------------------------------------------------------------------
class AgentFields(Body):
    error_root: ClassVar[str] = "agent"
    name: line(1, MAX_NAME_TEXT) = None
    skills: Skills = Field(None, description="skill name -> level 1..10")
    timezone: TimeZone = Field(None, description="an IANA time zone; the contact center's when left out")
    schedule: Schedule | None = Field(None, description='weekly shifts, e.g. {"mon-fri": "09:00-17:00"}; '
                                                        "null: none (on shift around the clock)")
    languages: Annotated[list[Language], Field(max_length=20)] = None
    auto_accept: Annotated[bool, Field(strict=True)] = None


class AgentNew(AgentFields):
    """A new agent (`POST /api/agents`)."""
    id: Name
    name: line(1, MAX_NAME_TEXT)


class AgentChange(AgentFields):
    """The fields to change (`PATCH /api/agents/{agent_id}`); `id`, if given, must be the agent's."""
    id: Name = None


class StatusChange(Body):
    status: Literal[SETTABLE_STATUSES]     # type: ignore[valid-type]
    reason: line(1, MAX_DISPOSITION) = None       # a break's, one of the config's break_reasons


# -- calls -----------------------------------------------------------------------------------------
class WrapUp(Body):
    disposition: line(0, MAX_DISPOSITION) = None
    notes: text(MAX_NOTES) = None


class NotesBody(Body):
    notes: text(MAX_NOTES)


# A queue or agent to narrow a list or a report by: naming none gives no rows, not an error.
Filter = Annotated[line(1, 64), Field(description="a queue name or an agent id; one that names none gives no rows")]


class WaitingQuery(Query):
    queue: Filter = None


class AssignBody(Body):
    agent: line(1, 64)


class HistoryQuery(Query):
    since: Day = Field(None, alias="from", description="first day (the contact center's); default today")
    until: Day = Field(None, alias="to", description="last day; default today")
    queue: Filter = None
    agent: Filter = None
    outcome: Literal[CALL_OUTCOMES] = None     # type: ignore[valid-type]
    limit: query_int(1, 1000) = Field(None, description="calls per page, default 100")
    q: line(1, 64) = Field(None, description="a number (its digits) or a contact's name, or part of one")
    cursor: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_=-]{1,200}$")] = Field(
        None, description="the `next` of the previous page")


# -- stats, reports, the console -------------------------------------------------------------------
class IntervalsQuery(Query):
    day: Day = Field(None, description="default today (the contact center's)")


class AgentCallsQuery(Query):
    day: TodayOrDay = Field("today", description="`today` (the agent's time zone) or YYYY-MM-DD")
    since: Day = Field(None, alias="from", description="with `to`: the first day of a range (instead of `day`)")
    until: Day = Field(None, alias="to", description="the last day of the range (default: `from`)")
    q: line(1, 64) = Field(None, description="only calls whose number holds these digits or whose contact's "
                                              "name holds this text")


class ReportQuery(Query):
    by: Literal[GROUPINGS] = "day"     # type: ignore[valid-type]
    since: Day = Field(None, alias="from", description="first day; default today")
    until: Day = Field(None, alias="to", description="last day; default today")
    queue: Filter = None
    agent: Filter = None
    format: Literal["json", "csv"] = Field("json", description="`csv` (or `Accept: text/csv`): a CSV file")

