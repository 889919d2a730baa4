"""Notes during the call: the agent on the call keeps notes as they talk (PUT /api/calls/<sid>/notes),
finds them again after a reload (GET), and they reach the call record even when the wrap-up ends by
its timer; nobody else writes them, and once the agent's part and wrap-up are over they are final."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from store.models import CallRecord
from tests.test_conference_events_move_the_acd import connected_to_chen, event

ADMIN = {"Authorization": "Bearer test-admin-token"}


@pytest.fixture(autouse=True)
def _agents_logged_in(staffed):
    """Queues hold callers only while someone who could serve them is logged in."""


def token_of(client, agent: str) -> dict:
    answer = client.post(f"/api/agents/{agent}/credentials", headers=ADMIN)
    assert answer.status_code in (200, 201), answer.get_json()
    return {"Authorization": f"Bearer {answer.get_json()['token']}"}


def test_notes_taken_while_talking_reach_the_record_when_the_wrapup_ends_by_itself(
        twilio, app, clock, legs_dialed, run_jobs):
    rt, client = app.extensions["callrouter"], app.test_client()
    call, room, leg = connected_to_chen(twilio, app, clock, legs_dialed)
    event(twilio, call, room, "participant-join", leg, "agent-chen")          # chen answered: talking
    chen, bob = token_of(client, "chen"), token_of(client, "bob")
    path = f"/api/calls/{call.sid}/notes"
    assert client.get(path, headers=chen).get_json() == {"call_sid": call.sid, "agent": "chen", "notes": ""}
    put = client.put(path, json={"notes": "Wants the <b>pro</b> plan"}, headers=chen)
    assert put.status_code == 200 and put.get_json()["notes"] == "Wants the <b>pro</b> plan"
    assert client.get(path, headers=chen).get_json()["notes"] == "Wants the <b>pro</b> plan"   # after a reload
    assert client.put(path, json={"notes": "mine now"}, headers=bob).status_code == 403
    assert client.put(path, json={"notes": "x" * 4001}, headers=chen).status_code == 400

    call.hangup()
    assert rt.agents.get("chen")["status"] == "wrapup"
    assert client.put(path, json={"notes": "Wants the pro plan; send a quote"}, headers=chen).status_code == 200
    rt.acd.tick(clock.now + timedelta(seconds=31))                            # sales' wrap-up time is over
    assert rt.agents.get("chen")["status"] == "available"
    run_jobs()
    with rt.sessions() as db:
        record = db.scalars(select(CallRecord).where(CallRecord.call_sid == call.sid)).one()
    assert record.agent_id == "chen" and record.notes == "Wants the pro plan; send a quote"
    late = client.put(path, json={"notes": "rewritten later"}, headers=chen)
    assert late.status_code == 409 and "over" in late.get_json()["error"]


def test_the_wrapup_keeps_the_notes_it_is_given_over_those_taken_during_the_call(twilio, app, clock, legs_dialed):
    rt, client = app.extensions["callrouter"], app.test_client()
    call, room, leg = connected_to_chen(twilio, app, clock, legs_dialed)
    event(twilio, call, room, "participant-join", leg, "agent-chen")
    chen = token_of(client, "chen")
    assert client.put(f"/api/calls/{call.sid}/notes", json={"notes": "draft"}, headers=chen).status_code == 200
    call.hangup()
    done = client.post(f"/api/calls/{call.sid}/wrapup", json={"disposition": "resolved", "notes": "final"},
                       headers=chen)
    assert done.status_code == 200
    assert rt.calls.load(call.sid)["notes"] == "final"
    assert client.put(f"/api/calls/{call.sid}/notes", json={"notes": "again"}, headers=chen).status_code == 409
