"""SQL away does not stop agents: their tokens are checked against Redis's copy of the token hashes,
so logging in, taking offers and their event stream keep working; what really needs SQL answers 503
with Retry-After, never 500 (CONTRACT.md, "When parts fail")."""
from __future__ import annotations

from tests.conftest import AUTH_TOKEN
from tests.people import PASSWORD, make_user, page_login
from tests.twilio import TwilioTester

ADMIN = {"Authorization": "Bearer test-admin-token"}
SQL_AWAY = {"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=1"}
NEW = {"id": "erin", "name": "Erin Diaz", "skills": {"billing": 4}, "timezone": "America/New_York"}


def test_an_agent_logs_in_and_is_offered_a_caller_with_sql_away(make_app, seeded):
    created = seeded.test_client().post("/api/agents", json=NEW, headers=ADMIN)
    assert created.status_code == 201
    erin = {"Authorization": f"Bearer {created.get_json()['token']}"}
    away = make_app(SQL_AWAY)                                       # the same Redis, SQL gone
    client = away.test_client()
    assert client.post("/api/agents/erin/status", json={"status": "available"}, headers=erin).status_code == 200
    call = TwilioTester(client, AUTH_TOKEN).call().dial().press("1")        # greeted without a name
    assert call.doc.find("Enqueue") is not None
    rt = away.extensions["callrouter"]
    rid = rt.agents.get("erin")["offer"]
    accepted = client.post(f"/api/reservations/{rid}/accept", headers=erin)
    assert accepted.status_code == 502                              # authenticated; Twilio is not here in tests
    assert client.post("/api/agents/erin/status", json={"status": "break"}, headers=erin).status_code == 200


def test_what_needs_sql_answers_503_with_retry_after(make_app, seeded):
    token = seeded.test_client().post("/api/agents", json=NEW, headers=ADMIN).get_json()["token"]
    client = make_app(SQL_AWAY).test_client()
    got = client.get("/api/agents/erin", headers={"Authorization": f"Bearer {token}"})
    assert got.status_code == 503 and got.headers["Retry-After"] == "30" and "database" in got.get_json()["error"]
    listed = client.get("/api/agents", headers=ADMIN)
    assert listed.status_code == 503 and listed.headers["Retry-After"] == "30"


def test_a_token_redis_does_not_know_yet_is_503_with_sql_away_and_a_wrong_one_401(make_app, seeded):
    token = seeded.test_client().post("/api/agents", json=NEW, headers=ADMIN).get_json()["token"]
    away = make_app(SQL_AWAY)
    client = away.test_client()
    assert client.post("/api/agents/erin/status", json={"status": "available"},
                       headers={"Authorization": f"Bearer {token}x"}).status_code == 401
    away.extensions["callrouter"].agents.forget_token("erin")
    refused = client.post("/api/agents/erin/status", json={"status": "available"},
                          headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "30"


def test_new_credentials_end_the_old_token_in_redis_too(seeded):
    client = seeded.test_client()
    old = client.post("/api/agents", json=NEW, headers=ADMIN).get_json()["token"]
    new = client.post("/api/agents/erin/credentials", headers=ADMIN).get_json()["token"]
    assert client.get("/api/agents/erin", headers={"Authorization": f"Bearer {old}"}).status_code == 401
    assert client.get("/api/agents/erin", headers={"Authorization": f"Bearer {new}"}).status_code == 200
    assert client.delete("/api/agents/erin", headers=ADMIN).status_code == 200
    assert seeded.extensions["callrouter"].agents.token_hash("erin") is None


def test_the_agent_console_signs_in_and_reloads_with_sql_away(make_app, seeded):
    seeded.test_client().post("/api/agents", json=NEW, headers=ADMIN)
    make_user(seeded, "erin", "agent", "erin")             # while SQL is there: Redis keeps its copy
    client = make_app(SQL_AWAY).test_client()
    assert page_login(client, "/agent", "erin").status_code == 303
    console = client.get("/agent")
    assert console.status_code == 200 and "Erin Diaz" in console.get_data(as_text=True)
    assert client.get("/agent/current").get_json()["status"] == "offline"
    wrong = make_app(SQL_AWAY).test_client()
    refused = page_login(wrong, "/agent", "erin", PASSWORD + "x")
    assert refused.status_code == 401
