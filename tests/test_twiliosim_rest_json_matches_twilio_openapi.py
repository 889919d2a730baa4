"""The REST stand-in's JSON against Twilio's own OpenAPI description of the
2010-04-01 API (twilio-oai, MIT, in ../shared/twilio-oai/): every field the
description names is there, none it lacks (but the deprecated `annotation`),
and integers are integers. The serializers are pure, so no server runs here."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from twiliosim import Simulator
from twiliosim.call import SimCall
from twiliosim.queues import SimQueue
from twiliosim.rest.serializers import (
    AccountView,
    call_recording_resource,
    call_resource,
    member_resource,
    queue_resource,
    recording_resource,
)

OAI = Path(__file__).resolve().parent.parent.parent / "shared" / "twilio-oai" / "twilio_api_v2010.json"
EXTRA = {"api.v2010.account.call": {"annotation"}}       # deprecated by Twilio, still sent (see serializers)


@pytest.fixture(scope="module")
def schemas():
    if not OAI.exists():
        pytest.skip(f"{OAI} is not here")
    return json.loads(OAI.read_text())["components"]["schemas"]


@pytest.fixture
def objects():
    sim = Simulator("AC" + "5" * 32, "token", time_scale=0.02)
    call = SimCall(sim, "+14155550123", "+15005550006", "inbound", interpreter=lambda *args: None)
    call.answered_at, call.ended_at, call.status = call.created + 0.1, call.created + 0.3, "completed"
    queue = SimQueue("support")
    queue.add(call)
    recording = sim.add_recording(call, 3)
    view = AccountView(sim.account_sid, sim.time_scale, time.time() - time.monotonic(), time.monotonic())
    return {"api.v2010.account.call": call_resource(call, view),
            "api.v2010.account.queue": queue_resource(queue, view),
            "api.v2010.account.queue.member": member_resource(queue, call, view),
            "api.v2010.account.recording": recording_resource(recording, view),
            "api.v2010.account.call.call_recording": call_recording_resource(recording, view)}


@pytest.mark.parametrize("schema", ["api.v2010.account.call", "api.v2010.account.queue",
                                    "api.v2010.account.queue.member", "api.v2010.account.recording",
                                    "api.v2010.account.call.call_recording"])
def test_fields_and_integer_types_match_the_description(schemas, objects, schema):
    properties = schemas[schema]["properties"]
    body = objects[schema]
    assert set(body) == set(properties) | EXTRA.get(schema, set())
    for name, spec in properties.items():
        if spec.get("type") == "integer" and body[name] is not None:
            assert isinstance(body[name], int), (schema, name, body[name])
        if spec.get("type") == "string" and body[name] is not None:
            assert isinstance(body[name], str), (schema, name, body[name])


def test_list_replies_carry_the_paging_fields_of_the_description():
    from twiliosim.rest.serializers import page_body
    body = page_body("calls", list(range(5)), "/2010-04-01/Accounts/AC1/Calls.json", 1, 2, {"To": "+1", "From": ""})
    assert set(body) == {"calls", "end", "first_page_uri", "next_page_uri", "page", "page_size",
                         "previous_page_uri", "start", "uri"}
    assert (body["calls"], body["start"], body["end"]) == ([2, 3], 2, 3)
    assert body["next_page_uri"].endswith("?To=%2B1&PageSize=2&Page=2")
