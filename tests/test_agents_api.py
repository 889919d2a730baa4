"""Agents through the JSON API: admin CRUD with validation, tokens, status
transitions mirrored atomically into Redis, shifts in the agent's own zone."""
from __future__ import annotations

import base64
import json

import pytest

ADMIN = {"Authorization": "Bearer test-admin-token"}
NEW = {"id": "erin", "name": "Erin Moss", "skills": {"billing": 4, "lang_es": 2}, "timezone": "Europe/Madrid",
       "schedule": {"mon-fri": "09:00-17:00"}, "languages": ["en", "es"]}


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def erin(client):
    response = client.post("/api/agents", json=NEW, headers=ADMIN)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    return {"Authorization": f"Bearer {body['token']}"}


def keys(app):
    return app.extensions["callrouter"].keys


def test_create_returns_the_agent_and_a_token_and_mirrors_it(client, app, redis_client, erin):
    agent = client.get("/api/agents/erin", headers=ADMIN).get_json()["agent"]
    assert agent == {**NEW, "auto_accept": False, "status": "offline", "since": agent["since"], "on_shift": True}
    k = keys(app)
    assert redis_client.zscore(k.skill("billing"), "erin") == 4
    assert redis_client.zscore(k.skill("lang_es"), "erin") == 2
    assert redis_client.hget(k.agent("erin"), "country") == b"ES"
    assert redis_client.sismember(k.agents(), "erin")


def test_auth(client, erin):
    assert client.get("/api/agents").status_code == 401
    assert client.get("/api/agents", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/api/agents", headers=erin).status_code == 403
    assert client.get("/api/agents/erin", headers=erin).status_code == 200
    forged = {"Authorization": "Bearer erin.not-the-secret"}
    assert client.get("/api/agents/erin", headers=forged).status_code == 401
    other = client.post("/api/agents", json={**NEW, "id": "fred", "name": "Fred"}, headers=ADMIN).get_json()
    fred = {"Authorization": f"Bearer {other['token']}"}
    response = client.post("/api/agents/erin/status", json={"status": "available"}, headers=fred)
    assert response.status_code == 403 and response.get_json()["error"].startswith("an agent token acts only")


@pytest.mark.parametrize("body, message", [
    ({**NEW, "skills": {"billing": 11}}, "agent.skills.billing: must be a whole number 1..10"),
    ({**NEW, "timezone": "Mars/Base"}, "agent.timezone: unknown time zone 'Mars/Base'"),
    ({**NEW, "schedule": {"mon": "17:00-09:00"}}, "agent.schedule.mon: time range '17:00-09:00' ends before"),
    ({**NEW, "id": "bad id!"}, "agent.id: bad name 'bad id!'"),
    ({**NEW, "colour": "blue"}, "agent.colour: unknown setting"),
    ({k: v for k, v in NEW.items() if k != "name"}, "agent.name: is required"),
])
def test_invalid_agents_are_400_with_the_path(client, redis_client, body, message):
    response = client.post("/api/agents", json=body, headers=ADMIN)
    assert response.status_code == 400
    assert message in response.get_json()["error"]
    assert redis_client.keys("*agent*") == []


def test_malformed_json_and_duplicates(client, erin):
    response = client.post("/api/agents", data="{not json", headers={**ADMIN, "Content-Type": "application/json"})
    assert response.status_code == 400 and "JSON object" in response.get_json()["error"]
    assert client.post("/api/agents", json=[1, 2], headers=ADMIN).status_code == 400
    assert client.post("/api/agents", json=NEW, headers=ADMIN).status_code == 409


def test_status_transitions_and_the_idle_set(client, app, redis_client, erin, clock):
    idle = keys(app).idle()
    def status(wanted, who=erin):
        return client.post("/api/agents/erin/status", json={"status": wanted}, headers=who)
    assert status("available").get_json() == {"status": "available"}
    assert redis_client.zscore(idle, "erin") == clock.now.timestamp()
    assert status("break").get_json() == {"status": "break"}
    assert redis_client.zscore(idle, "erin") is None
    assert status("available", ADMIN).status_code == 200
    assert status("offline").get_json() == {"status": "offline"}
    assert redis_client.zcard(idle) == 0
    assert status("busy").status_code == 400
    assert client.post("/api/agents/nobody/status", json={"status": "available"}, headers=ADMIN).status_code == 404
    events = redis_client.xrange(keys(app).events())
    assert [(e[b"from"], e[b"to"]) for _, e in events] == [
        (b"offline", b"available"), (b"available", b"break"), (b"break", b"available"), (b"available", b"offline")]


@pytest.mark.parametrize("held", ["reserved", "busy"])
def test_409_while_an_offer_or_a_call_holds_the_agent(client, app, redis_client, erin, held):
    redis_client.hset(keys(app).agent("erin"), "status", held)
    for wanted in ("available", "break", "offline"):
        response = client.post("/api/agents/erin/status", json={"status": wanted}, headers=erin)
        assert response.status_code == 409 and response.get_json()["status"] == held
    assert redis_client.hget(keys(app).agent("erin"), "status") == held.encode()
    assert client.delete("/api/agents/erin", headers=ADMIN).status_code == 409


def test_break_during_wrapup_waits_for_its_end(client, app, redis_client, erin):
    redis_client.hset(keys(app).agent("erin"), "status", "wrapup")
    response = client.post("/api/agents/erin/status", json={"status": "break"}, headers=erin)
    assert response.get_json() == {"status": "wrapup"}
    assert redis_client.hget(keys(app).agent("erin"), "after_wrapup") == b"break"
    assert client.post("/api/agents/erin/status", json={"status": "available"},
                       headers=erin).get_json() == {"status": "available"}


def test_off_shift_agent_may_be_available_but_is_not_idle(client, app, redis_client, clock):
    clock.now = clock.now.replace(hour=20)                 # 21:00 in Madrid
    body = client.post("/api/agents", json=NEW, headers=ADMIN).get_json()
    assert body["agent"]["on_shift"] is False
    token = {"Authorization": f"Bearer {body['token']}"}
    assert client.post("/api/agents/erin/status", json={"status": "available"}, headers=token).status_code == 200
    assert redis_client.zscore(keys(app).idle(), "erin") is None


def test_patch_moves_skills_and_delete_removes(client, app, redis_client, erin):
    response = client.patch("/api/agents/erin", json={"skills": {"tech": 6}}, headers=ADMIN)
    assert response.status_code == 200 and response.get_json()["agent"]["skills"] == {"tech": 6}
    k = keys(app)
    assert redis_client.zscore(k.skill("billing"), "erin") is None
    assert redis_client.zscore(k.skill("tech"), "erin") == 6
    assert client.patch("/api/agents/erin", json={"timezone": "Nowhere"}, headers=ADMIN).status_code == 400
    assert client.patch("/api/agents/erin", json={"id": "other"}, headers=ADMIN).status_code == 400
    assert client.delete("/api/agents/erin", headers=ADMIN).get_json() == {"deleted": "erin"}
    assert client.get("/api/agents/erin", headers=ADMIN).status_code == 404
    assert redis_client.exists(k.agent("erin")) == 0 and redis_client.zscore(k.skill("tech"), "erin") is None


def test_new_credentials_replace_the_old_token(client, erin):
    fresh = client.post("/api/agents/erin/credentials", headers=ADMIN).get_json()["token"]
    assert client.get("/api/agents/erin", headers=erin).status_code == 401
    assert client.get("/api/agents/erin", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


def test_softphone_token_carries_identity_and_voice_grant(client, erin):
    body = client.get("/api/agents/erin/token", headers=erin).get_json()
    assert body["identity"] == "erin"
    payload = body["token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["grants"]["identity"] == "erin"
    assert claims["grants"]["voice"]["incoming"] == {"allow": True}
    assert claims["grants"]["voice"]["outgoing"]["application_sid"].startswith("AP")


def test_seeded_agents_are_listed_with_live_status(client, seeded, app, clock):
    assert app.extensions["callrouter"].agents.mirror_from_sql(app.extensions["callrouter"].sessions, clock.now) == 4
    agents = {a["id"]: a for a in client.get("/api/agents", headers=ADMIN).get_json()["agents"]}
    assert set(agents) == {"alice", "bob", "chen", "dana"}
    assert agents["dana"]["on_shift"] is False                 # 07:00 in Los Angeles
    assert agents["chen"]["on_shift"] is True                  # no schedule: always
    assert all(a["status"] == "offline" for a in agents.values())


def test_without_credentials_it_is_401_before_the_offer_the_call_or_the_body_is_looked_at(client):
    assert client.post("/api/reservations/WR-unknown/accept").status_code == 401
    assert client.post("/api/reservations/WR-unknown/reject").status_code == 401
    assert client.post("/api/calls/CA-unknown/wrapup", data="not json").status_code == 401
    assert client.get("/api/calls/CA-unknown/context").status_code == 401
