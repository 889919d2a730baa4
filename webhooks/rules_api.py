"""Trying routing rules on a sample caller: `POST /api/rules/test` (admin), as `flask rules test` does
(ivr/rule_test.py): which rule of a route node (or which of a queue's rules) fires for the caller,
where the call goes, and for each rule whether it held, what failed and the attributes it read."""
from __future__ import annotations

from typing import Annotated, Any

from flask import Blueprint, jsonify
from pydantic import Field

from ivr.rule_test import explain

from .answers import Answer
from .deps import now, services
from .openapi import operation
from .schemas import Body, line

bp = Blueprint("rules_api", __name__, url_prefix="/api")

Number = Annotated[float, Field(allow_inf_nan=False, ge=-1e15, le=1e15)]
Whole = Annotated[int, Field(ge=-(2 ** 53), le=2 ** 53)]
Scalar = Annotated[bool | Whole | Number | Annotated[str, Field(max_length=500)], Field(union_mode="left_to_right")]
Value = Scalar | Annotated[list[Scalar], Field(max_length=20)]
Members = Annotated[dict[Annotated[str, Field(max_length=64)], Value], Field(max_length=50)]
Figures = Annotated[dict[Annotated[str, Field(max_length=64)], Annotated[dict[str, Whole | Number],
                                                                          Field(max_length=10)]],
                    Field(max_length=50)]


class RuleTestBody(Body):
    flow: line(1, 64) = Field(None, description="a flow; default: the flow of `to`, else the first")
    node: line(1, 64) = Field(None, description="its route node; may be left out when it has one")
    queue: line(1, 64) = Field(None, description="a queue: its rules instead of a route node's")
    from_: line(1, 32) = Field(None, alias="from", description="the caller's number (E.164)")
    to: line(1, 32) = Field(None, description="the number dialed")
    country: line(2, 2) = Field(None, description="the caller's country as Twilio would give it (FromCountry)")
    language: line(2, 16) = Field(None, description="the call's language (th-TH)")
    caller: Members = Field(None, description="laid over what is read: caller.e164, region, local_hour")
    contact: Members = Field(None, description="laid over the CRM's contact of `from`")
    call: Members = Field(None, description="language, repeat_caller, calls_today, choices")
    now: Members = Field(None, description="weekday, hour, minute, holiday")
    queues: Figures = Field(None, description='per queue, figures laid over the live ones: '
                                              '{"billing": {"waiting": 12}}')


class RuleResult(Answer):
    rule: int
    when: str
    then: Any
    holds: bool
    error: str | None
    reads: dict[str, Any]


class RuleTest(Answer):
    node: str | None
    rules: list[RuleResult]
    fired: int | list[int] | None
    context: dict[str, Any]


@bp.post("/rules/test")
@operation(summary="Which routing rule fires for a sample caller, and why", auth="admin", body=RuleTestBody,
           answers={200: RuleTest}, errors=(404,))
def rules_test(body: RuleTestBody):
    """The context is what the call path would read now (live queues, the caller's calls today, the
    CRM contact of `from`), with the body's attributes laid over it."""
    sample = body.model_dump(by_alias=True, exclude_none=True)
    found = explain(services().cc, services().ivr.facts, now(), flow=body.flow or "", node=body.node or "",
                    queue=body.queue or "", sample=sample)
    return jsonify(found)
