"""Break reasons (the config's `break_reasons`): an agent on break says what for, the board shows it
and today's break time is counted per reason; a supervisor who changes an agent's status (log out,
break, make available) is named in the agent's own status event, so their page never changes without
a word; an agent who never logged in has no time in status."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.people import PASSWORD, make_user, page_login

ADMIN = {"Authorization": "Bearer test-admin-token"}


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def erin(client):
    created = client.post("/api/agents", json={"id": "erin", "name": "Erin Moss", "skills": {"billing": 4},
                                              "timezone": "UTC"}, headers=ADMIN)
    assert created.status_code == 201
    return {"Authorization": f"Bearer {created.get_json()['token']}"}


def status(client, headers, body) -> tuple[int, dict]:
    answer = client.post("/api/agents/erin/status", json=body, headers=headers)
    return answer.status_code, answer.get_json()


def figures(client) -> dict:
    return client.get("/api/stats", headers=ADMIN).get_json()["agents"]["erin"]


def test_a_break_for_a_reason_is_shown_and_its_time_counted_per_reason(client, app, erin, clock):
    assert app.extensions["callrouter"].cc.break_reasons == ("lunch", "training", "meeting", "coaching", "personal")
    assert status(client, erin, {"status": "available"})[0] == 200
    assert status(client, erin, {"status": "break", "reason": "lunch"}) == (200, {"status": "break"})
    clock.now += timedelta(minutes=30)
    row = figures(client)
    assert row["status"] == "break" and row["reason"] == "lunch" and row["breaks"] == {"lunch": 1800.0}
    assert status(client, erin, {"status": "break", "reason": "training"})[0] == 200   # another break now
    clock.now += timedelta(minutes=10)
    assert status(client, erin, {"status": "available"})[0] == 200
    row = figures(client)
    assert row["reason"] is None and row["breaks"] == {"lunch": 1800.0, "training": 600.0}


@pytest.mark.parametrize("body, problem", [
    ({"status": "available", "reason": "lunch"}, "only a break has a reason"),
    ({"status": "break", "reason": "nap"}, "one of lunch, training, meeting, coaching, personal"),
    ({"status": "break", "reason": ""}, "reason"),
])
def test_a_reason_that_is_not_the_configs_is_400(client, erin, body, problem):
    code, answer = status(client, erin, body)
    assert code == 400 and problem in answer["error"]


def test_a_supervisor_who_changes_an_agents_status_is_named_in_their_event(client, app, erin, redis_client):
    make_user(app, "sam", "supervisor")
    boss = app.test_client()
    assert page_login(boss, "/supervisor", "sam", PASSWORD).status_code == 303
    csrf = boss.get("/supervisor").get_data(as_text=True).split('"csrf": "')[1].split('"')[0]
    events = redis_client.pubsub()
    events.subscribe(app.extensions["callrouter"].keys.agent_channel("erin"))
    assert events.get_message(timeout=1)["type"] == "subscribe"
    assert status(client, erin, {"status": "available"})[0] == 200           # erin herself: nobody named
    answer = boss.post("/api/agents/erin/status", json={"status": "offline"}, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 200, answer.get_json()
    seen = [json.loads(events.get_message(timeout=1)["data"]) for _ in range(2)]
    assert [(e["status"], e.get("by")) for e in seen] == [("available", None), ("offline", "sam")]
    answer = client.post("/api/agents/erin/status", json={"status": "available"}, headers=ADMIN)
    assert json.loads(events.get_message(timeout=1)["data"]).get("by") == "an administrator"


def test_an_agent_who_never_logged_in_has_no_time_in_status(client, erin):
    row = figures(client)
    assert row["status"] == "offline" and row["since"] is None
