"""Workspaces (issue 19, first part): the operator creates a workspace with its config (checked as at
start), its Twilio account (the auth token kept encrypted) and gets its admin's token; the operator or
that admin reads and changes the config, every change a new version with its author and note, and a
rollback is a new version with an old text. Numbers belong to one workspace; another workspace's admin
sees nothing (404); without OPERATOR_TOKEN nothing of this exists (404)."""
from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from store.models import Workspace, WorkspaceNumber
from store.settings import from_env
from tests.conftest import DEMO

OPERATOR = "o" * 32
KEY = Fernet.generate_key().decode()
SID = "AC" + "2" * 32
DEMO_TEXT = DEMO.read_text(encoding="utf-8")
DEMO_NUMBERS = ["+15005550006", "+15005550007", "+15005550008", "+15005550009"]


def config_of(workspace_id: str, text: str = DEMO_TEXT) -> str:
    return text.replace("workspace: acme\n", f"workspace: {workspace_id}\n", 1)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def ops(make_app):
    app = make_app({"OPERATOR_TOKEN": OPERATOR, "ENCRYPTION_KEY": KEY})
    return app, app.test_client()


def create(client, workspace_id: str, config: str | None = None, token: str = "twilio-secret-" + "z" * 20):
    return client.post("/api/workspaces", headers=bearer(OPERATOR), json={
        "id": workspace_id, "twilio_account_sid": SID, "twilio_auth_token": token,
        "config": config_of(workspace_id) if config is None else config})


def numbers_of(app, workspace_id: str) -> list[str]:
    with app.extensions["callrouter"].sessions() as s:
        return sorted(s.scalars(select(WorkspaceNumber.e164).where(WorkspaceNumber.workspace == workspace_id)))


def test_the_operator_creates_a_workspace_and_gets_its_admin_token(ops):
    app, client = ops
    answer = create(client, "north")
    assert answer.status_code == 201, answer.json
    assert answer.json["workspace"] == {"id": "north", "version": 1}
    assert len(answer.json["admin_token"]) >= 32 and "twilio" not in str(answer.json)
    listed = client.get("/api/workspaces", headers=bearer(OPERATOR))
    assert listed.status_code == 200 and listed.json == {"workspaces": [{"id": "north", "version": 1}]}
    got = client.get("/api/workspaces/north/config", headers=bearer(answer.json["admin_token"]))
    assert got.status_code == 200
    assert got.json == {"workspace": "north", "version": 1, "config": config_of("north")}
    assert numbers_of(app, "north") == DEMO_NUMBERS


def test_the_twilio_token_is_stored_encrypted_and_decrypts_back(ops):
    app, client = ops
    assert create(client, "north", token="the-secret-token-" + "q" * 16).status_code == 201
    rt = app.extensions["callrouter"]
    with rt.sessions() as s:
        stored = s.get(Workspace, "north")
    assert "the-secret-token" not in stored.twilio_auth_token_enc
    assert Fernet(KEY.encode()).decrypt(stored.twilio_auth_token_enc.encode()).decode() == "the-secret-token-" + "q" * 16
    assert rt.workspaces.twilio_auth_token("north") == "the-secret-token-" + "q" * 16
    assert stored.twilio_account_sid == SID and len(stored.admin_token_hash) == 64


def test_a_bad_config_is_refused_listing_every_problems_path(ops):
    _, client = ops
    bad = config_of("north").replace("timezone: America/New_York", "timezone: Mars/Olympus", 1)
    bad += "\nsurprise: 1\n"
    answer = create(client, "north", bad)
    assert answer.status_code == 400
    assert [p["path"] for p in answer.json["problems"]] == ["surprise", "timezone"]
    assert "surprise: unknown setting" in answer.json["error"] and "timezone: unknown time zone" in answer.json["error"]
    assert create(client, "north", "just: [unclosed").status_code == 400
    assert create(client, "north", "- a list\n").status_code == 400
    assert create(client, "north", "x" * (256 * 1024 + 1)).status_code == 400
    assert "at most 262144 characters" in create(client, "north", "x" * (256 * 1024 + 1)).json["error"]


def test_the_configs_workspace_must_be_the_id(ops):
    _, client = ops
    answer = create(client, "north", config_of("south"))
    assert answer.status_code == 400
    assert [p["path"] for p in answer.json["problems"]] == ["workspace"]


def test_a_number_of_another_workspace_or_a_taken_id_is_a_conflict(ops):
    app, client = ops
    assert create(client, "north").status_code == 201
    clash = create(client, "south")
    assert clash.status_code == 409 and "+15005550006" in clash.json["error"]
    assert clash.json["numbers"] == DEMO_NUMBERS
    again = create(client, "north")
    assert again.status_code == 409
    assert numbers_of(app, "south") == []


def test_who_may_ask(ops, make_app):
    app, client = ops
    north = create(client, "north").json["admin_token"]
    south_text = config_of("south").replace("+1500555", "+1500666")
    south = create(client, "south", south_text).json["admin_token"]
    assert client.get("/api/workspaces").status_code == 401
    assert client.get("/api/workspaces/north/config").status_code == 401
    assert client.get("/api/workspaces", headers=bearer("not-a-token")).status_code == 401
    assert client.get("/api/workspaces", headers=bearer("test-admin-token")).status_code == 403
    assert client.get("/api/workspaces", headers=bearer(north)).status_code == 403
    assert client.get("/api/workspaces/north/config", headers=bearer("test-admin-token")).status_code == 403
    assert client.get("/api/workspaces/north/config", headers=bearer(south)).status_code == 404
    assert client.put("/api/workspaces/north/config", headers=bearer(south),
                      json={"config": config_of("north")}).status_code == 404
    assert client.get("/api/workspaces/nowhere/config", headers=bearer(OPERATOR)).status_code == 404
    assert client.get("/api/workspaces/north/config", headers=bearer(north)).status_code == 200
    assert client.put("/api/workspaces/north/config", headers=bearer(north),
                      json={"config": config_of("north")}).status_code == 200
    assert create(client, "east", config_of("east"), token="t").status_code in (409,)   # its numbers: north's

    closed = make_app({"ENCRYPTION_KEY": KEY}).test_client()       # no OPERATOR_TOKEN: nothing of this
    assert closed.get("/api/workspaces").status_code == 404
    assert closed.get("/api/workspaces", headers=bearer(OPERATOR)).status_code == 404
    assert closed.post("/api/workspaces", headers=bearer("test-admin-token"), json={}).status_code == 404
    assert closed.get("/api/workspaces/north/config", headers=bearer(north)).status_code == 404


def test_versions_history_and_rollback(ops):
    app, client = ops
    admin = create(client, "north").json["admin_token"]
    first = config_of("north")
    second = first.replace('"+15005550009": members', '"+15005550010": members')
    changed = client.put("/api/workspaces/north/config", headers=bearer(admin),
                         json={"config": second, "note": "members moved to 0010"})
    assert changed.status_code == 200 and changed.json == {"workspace": {"id": "north", "version": 2}}
    assert numbers_of(app, "north") == sorted(DEMO_NUMBERS[:3] + ["+15005550010"])
    refused = client.put("/api/workspaces/north/config", headers=bearer(OPERATOR),
                         json={"config": second.replace("queues:", "queuez:", 1)})
    assert refused.status_code == 400
    got = client.get("/api/workspaces/north/config", headers=bearer(OPERATOR)).json
    assert got["version"] == 2 and got["config"] == second

    history = client.get("/api/workspaces/north/config/history", headers=bearer(admin))
    assert history.status_code == 200
    assert [(v["version"], v["author"], v["note"]) for v in history.json["versions"]] == [
        (2, "admin", "members moved to 0010"), (1, "operator", None)]

    back = client.post("/api/workspaces/north/config/rollback", headers=bearer(OPERATOR), json={"version": 1})
    assert back.status_code == 200 and back.json["workspace"]["version"] == 3
    got = client.get("/api/workspaces/north/config", headers=bearer(admin)).json
    assert got == {"workspace": "north", "version": 3, "config": first}
    assert numbers_of(app, "north") == DEMO_NUMBERS
    latest = client.get("/api/workspaces/north/config/history", headers=bearer(admin)).json["versions"][0]
    assert latest["author"] == "operator" and latest["note"] == "rollback to version 1"
    assert client.post("/api/workspaces/north/config/rollback", headers=bearer(admin),
                       json={"version": 9}).status_code == 404


def test_a_rollback_to_numbers_another_workspace_took_since_is_a_conflict(ops):
    app, client = ops
    admin = create(client, "north").json["admin_token"]
    moved = config_of("north").replace("+1500555", "+1500777")
    assert client.put("/api/workspaces/north/config", headers=bearer(admin), json={"config": moved}).status_code == 200
    assert create(client, "south").status_code == 201           # the demo's numbers, free again
    back = client.post("/api/workspaces/north/config/rollback", headers=bearer(admin), json={"version": 1})
    assert back.status_code == 409
    assert numbers_of(app, "north") == sorted(n.replace("+1500555", "+1500777") for n in DEMO_NUMBERS)


def test_the_encryption_key_is_checked_generated_in_development_and_required_in_production(tmp_path, capsys):
    from tests.test_production_refuses_development_secrets import STRONG
    assert from_env({"ENCRYPTION_KEY": KEY}, instance_path=tmp_path).encryption_key == KEY
    generated = from_env({}, instance_path=tmp_path / "dev").encryption_key
    assert Fernet(generated.encode()) and (tmp_path / "dev" / "encryption_key").read_text().strip() == generated
    assert from_env({}, instance_path=tmp_path / "dev").encryption_key == generated       # kept across restarts
    with pytest.raises(SystemExit, match="ENCRYPTION_KEY must be a Fernet key"):
        from_env({"ENCRYPTION_KEY": "not-a-key"}, instance_path=tmp_path)
    production = {**STRONG, "CALLROUTER_ENV": "production"}
    assert from_env(production, instance_path=tmp_path / "p").encryption_key == ""       # no workspaces: not needed
    assert not (tmp_path / "p" / "encryption_key").exists()
    with pytest.raises(SystemExit):
        from_env({**production, "OPERATOR_TOKEN": OPERATOR}, instance_path=tmp_path / "p")
    assert "ENCRYPTION_KEY: required in production with OPERATOR_TOKEN" in capsys.readouterr().err
    assert from_env({**production, "OPERATOR_TOKEN": OPERATOR, "ENCRYPTION_KEY": KEY},
                    instance_path=tmp_path / "p").operator_token == OPERATOR


def test_a_config_of_aliases_that_expand_to_billions_is_refused_at_once(ops):
    _, client = ops
    bomb = "x0: &a0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10))
    answer = create(client, "north", "workspace: north\n" + bomb + "timezone: *a9\n")
    assert answer.status_code == 400 and "values once its aliases are expanded" in answer.json["error"]
    wide = "workspace: north\ntimezone: [" + ", ".join(["x"] * 5000) + "]\n"       # a problem quoting a long value
    answer = create(client, "north", wide)
    assert answer.status_code == 400 and all(len(p["reason"]) <= 301 for p in answer.json["problems"])


def test_the_registry_keeps_numbers_in_step_on_postgresql(pg_schema):
    """The same use cases against PostgreSQL, straight on the registry (no Flask)."""
    from datetime import datetime, timezone

    from contactcenter.errors import Conflict
    from store.db import make_engine, make_session_factory, migrate
    from workspaces.registry import Registry

    url, kwargs = pg_schema
    migrate(url, **kwargs)
    engine = make_engine(url, **kwargs)
    try:
        registry = Registry(make_session_factory(engine), KEY, lambda: datetime(2026, 12, 8, tzinfo=timezone.utc))
        version, admin = registry.create("north", SID, "secret-" + "s" * 20, config_of("north"), "operator")
        assert version == 1 and registry.is_admin("north", admin) and not registry.is_admin("north", "x")
        with pytest.raises(Conflict):
            registry.create("south", SID, "t", config_of("south"), "operator")
        moved = config_of("north").replace("+1500555", "+1500777")
        assert registry.put_config("north", moved, "admin", "moved") == 2
        assert registry.create("south", SID, "t", config_of("south"), "operator")[0] == 1
        with pytest.raises(Conflict):
            registry.rollback("north", 1, "admin")
        assert registry.config("north") == (2, moved)
        assert [h["version"] for h in registry.history("north")] == [2, 1]
        assert registry.all_workspaces() == [{"id": "north", "version": 2}, {"id": "south", "version": 1}]
        assert registry.twilio_auth_token("north") == "secret-" + "s" * 20
    finally:
        engine.dispose()


def test_agents_without_ids_are_problems_not_a_crash(ops):
    """(The checker used to fail with KeyError on a second agent without an id.)"""
    _, client = ops
    text = config_of("north").replace("agents:\n", "agents:\n  - {name: One}\n  - {name: Two}\n", 1)
    answer = create(client, "north", text)
    assert answer.status_code == 400
    assert {"agents.0.id", "agents.1.id"} <= {p["path"] for p in answer.json["problems"]}
