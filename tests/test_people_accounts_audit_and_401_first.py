"""Accounts through the admin's API, the audit trail of every state-changing request, and the order
of refusals: 401 for a request without valid credentials whatever it names, then 403, then 404/409."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from store.models import User
from tests.people import PASSWORD, make_user

ADMIN = {"Authorization": "Bearer test-admin-token"}
ERIN = {"id": "erin", "name": "Erin Moss", "skills": {"billing": 4}, "timezone": "Europe/Madrid"}


@pytest.fixture
def client(app):
    return app.test_client()


def test_an_admin_creates_people_and_only_the_hash_of_a_password_is_kept(client, app):
    client.post("/api/agents", json=ERIN, headers=ADMIN)
    made = client.post("/api/users", json={"username": "Erin", "password": PASSWORD, "role": "agent",
                                           "agent_id": "erin"}, headers=ADMIN)
    assert made.status_code == 201
    assert made.get_json()["user"] | {"created_at": None, "updated_at": None} == {
        "username": "erin", "role": "agent", "agent_id": "erin", "disabled": False, "totp": False,
        "created_at": None, "updated_at": None}
    with app.extensions["callrouter"].sessions() as db:
        stored = db.scalar(select(User.password_hash).where(User.username == "erin"))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    listed = client.get("/api/users", headers=ADMIN).get_json()["users"]
    assert [u["username"] for u in listed] == ["erin"] and "password_hash" not in listed[0]


@pytest.mark.parametrize("body, status, words", [
    ({"username": "x y", "password": PASSWORD, "role": "admin"}, 400, "username"),
    ({"username": "zoe", "password": "short", "role": "admin"}, 400, "at least 12"),
    ({"username": "zoe", "password": "aaaaaaaaaaaaaaaa", "role": "admin"}, 400, "too easy"),
    ({"username": "zoe", "password": PASSWORD, "role": "root"}, 400, "role"),
    ({"username": "zoe", "password": PASSWORD, "role": "agent"}, 400, "agent_id"),
    ({"username": "zoe", "password": PASSWORD, "role": "agent", "agent_id": "nobody"}, 400, "agent_id"),
    ({"username": "zoe", "password": PASSWORD, "role": "admin", "agent_id": "erin"}, 400, "agent_id"),
    ({"username": "sam", "password": PASSWORD, "role": "admin"}, 409, "exists"),
])
def test_bad_accounts_are_refused_with_a_reason(client, app, body, status, words):
    client.post("/api/agents", json=ERIN, headers=ADMIN)
    make_user(app, "sam", "supervisor")
    answer = client.post("/api/users", json=body, headers=ADMIN)
    assert answer.status_code == status and words in answer.get_json()["error"], answer.get_json()


def test_an_agent_has_one_person_and_a_user_patch_refuses_what_it_does_not_know(client, app):
    client.post("/api/agents", json=ERIN, headers=ADMIN)
    make_user(app, "erin", "agent", "erin")
    second = client.post("/api/users", json={"username": "erin2", "password": PASSWORD, "role": "agent",
                                             "agent_id": "erin"}, headers=ADMIN)
    assert second.status_code == 409
    assert client.patch("/api/users/erin", json={"colour": "red"}, headers=ADMIN).status_code == 400
    assert client.patch("/api/users/nobody", json={"disabled": True}, headers=ADMIN).status_code == 404
    assert client.patch("/api/users/erin", json={"disabled": "yes"}, headers=ADMIN).status_code == 400


@pytest.mark.parametrize("method, path", [
    ("post", "/api/reservations/WRunknown/accept"), ("post", "/api/reservations/WRunknown/reject"),
    ("post", "/api/calls/CAunknown/wrapup"), ("get", "/api/calls/CAunknown/context"),
    ("post", "/api/agents/nobody/status"), ("patch", "/api/agents/nobody"), ("delete", "/api/agents/nobody"),
    ("post", "/api/agents/nobody/credentials"), ("get", "/api/agents/nobody"), ("patch", "/api/users/nobody"),
    ("get", "/api/users/nobody"), ("delete", "/api/sessions/unknown"), ("get", "/api/audit"),
    ("post", "/api/users"), ("post", "/api/account/password"), ("get", "/api/calls"),
])
def test_without_credentials_every_request_gets_401_before_anything_is_looked_up(client, method, path):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Cookie": "callrouter_session=" + "x" * 43}):
        answer = getattr(client, method)(path, json={"status": "break"}, headers=headers)
        assert answer.status_code == 401, (method, path, headers, answer.get_json())


def test_every_state_changing_request_lands_in_the_audit_trail_newest_first(client, app):
    rt = app.extensions["callrouter"]
    make_user(app, "sam", "supervisor")
    client.post("/api/agents", json=ERIN, headers=ADMIN)
    sam = app.test_client()
    csrf = sam.post("/api/sessions", json={"username": "sam", "password": PASSWORD}).get_json()["csrf"]
    sam.post("/api/agents/erin/status", json={"status": "break"}, headers={"X-CSRF-Token": csrf})
    sam.post("/api/agents", json={**ERIN, "id": "zed"}, headers={"X-CSRF-Token": csrf})      # 403: recorded too
    app.test_client().post("/api/sessions", json={"username": "sam", "password": "wrong password"})
    assert rt.redis.llen(rt.keys.audit_pending()) == 5           # written on the side, not yet in SQL
    entries = client.get("/api/audit", headers=ADMIN).get_json()["entries"]
    assert [(e["actor"], e["role"], e["action"], e["target"], e["status"]) for e in entries] == [
        ("sam", "sign-in", "people_api.create_session", "", 401),
        ("sam", "supervisor", "agents_api.create_agent", "", 403),
        ("sam", "supervisor", "agents_api.set_status", "erin", 200),
        ("sam", "sign-in", "people_api.create_session", "", 200),
        ("admin-token", "admin", "agents_api.create_agent", "", 201),
    ]
    assert all(e["address"] == "127.0.0.1" and e["at"].endswith("+00:00") for e in entries)
    only = client.get("/api/audit?actor=sam&action=agents_api.set_status", headers=ADMIN).get_json()["entries"]
    assert len(only) == 1 and only[0]["path"] == "/api/agents/erin/status" and only[0]["method"] == "POST"
    page = client.get("/api/audit?limit=2", headers=ADMIN).get_json()
    older = client.get(f"/api/audit?limit=2&before={page['next']}", headers=ADMIN).get_json()
    assert [e["id"] for e in page["entries"] + older["entries"]] == [e["id"] for e in entries[:4]]
    assert client.get("/api/audit?from=9999-12-31", headers=ADMIN).status_code == 400
    assert sam.get("/api/audit").status_code == 403


def test_audit_entries_wait_in_redis_while_sql_is_away(make_app, app):
    away = make_app({"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=1"})
    rt = away.extensions["callrouter"]
    away.test_client().post("/api/agents/alice/status", json={"status": "break"}, headers=ADMIN)
    assert rt.redis.llen(rt.keys.audit_pending()) == 1
    assert away.test_client().get("/api/audit", headers=ADMIN).status_code == 503
    assert rt.redis.llen(rt.keys.audit_pending()) == 1             # put back, in order
    entries = app.test_client().get("/api/audit", headers=ADMIN).get_json()["entries"]
    assert [(e["actor"], e["action"]) for e in entries] == [("admin-token", "agents_api.set_status")]


def test_a_new_contact_centers_first_admin_is_made_with_flask_users_create(app):
    runner = app.test_cli_runner()
    made = runner.invoke(args=["users", "create", "Boss", "--role", "admin"], input="first-admin-password\n")
    assert made.exit_code == 0 and "created boss (admin)" in made.output
    weak = runner.invoke(args=["users", "create", "boss2", "--role", "admin"], input="short\n")
    assert weak.exit_code == 2 and "at least 12 characters" in weak.output
    assert "boss\tadmin" in runner.invoke(args=["users", "list"]).output
    client = app.test_client()
    assert client.post("/api/sessions", json={"username": "boss", "password": "first-admin-password"}
                       ).get_json()["role"] == "admin"
    assert client.get("/api/users").status_code == 200
    hashed = runner.invoke(args=["users", "hash"], input="a-config-password\n").output.strip()
    assert hashed.startswith("$argon2id$")
    assert runner.invoke(args=["users", "disable", "boss"]).exit_code == 0
    assert client.get("/api/users").status_code == 401                  # disabling ended the session


def test_behind_trusted_proxies_the_forwarded_address_is_the_clients(make_app):
    app = make_app({"TRUSTED_PROXIES": "1", "LOGIN_THROTTLE_WINDOW_S": "30"})
    client = app.test_client()
    for i in range(6):                         # six addresses, one failure each: nobody is throttled
        answer = client.post("/api/sessions", json={"username": f"u{i}", "password": "wrong password"},
                             headers={"X-Forwarded-For": f"198.51.100.{i}"})
        assert answer.status_code == 401
    entries = client.get("/api/audit", headers=ADMIN).get_json()["entries"]
    assert {e["address"] for e in entries} == {f"198.51.100.{i}" for i in range(6)}


def test_a_sign_in_nested_too_deep_is_refused_and_still_recorded(client):
    answer = client.post("/api/sessions", data="[" * 100_000, content_type="application/json")
    assert answer.status_code == 400
    assert client.get("/api/audit", headers=ADMIN).get_json()["entries"][0]["actor"] == "-"
