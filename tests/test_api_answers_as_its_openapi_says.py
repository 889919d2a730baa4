"""The JSON API answers as its OpenAPI description (`GET /api/openapi.json`) says.

Schemathesis loads the description from the real service (`python -m service.serve`, as `make run`
starts it: tests/live_service.py) and drives every operation with the requests it makes from it,
valid and invalid (its coverage cases: boundaries, missing and malformed parameters and bodies,
wrong types; then MAX_EXAMPLES fuzzed ones), once with the admin's bearer token (the operator's for
`/api/workspaces`, which exists only with OPERATOR_TOKEN set) and once without credentials. Each
answer must be no 5xx and must conform: a status code the operation lists, its content type, its
body's schema. Only the two event streams are left out (`/api/stats/stream`,
`/api/agents/{agent_id}/events`): they never end.

Most agent ids drawn become one of the demo's agents (`map_path_parameters`), so reads, changes
and status changes reach real agents, not only 404. Schemathesis leaves out the operation it loads
the description from (`GET /api/openapi.json`); the in-process tests below read that one. The generation is derandomized
(seeded, no example database): the same command sends the same requests.

The fast tests at the end read the description in-process: it is valid OpenAPI 3.1, and it lists
every /api rule of the Flask app (a new endpoint without `@operation` fails here).
"""
from __future__ import annotations

import time

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import E2E_REDIS_URL as REDIS_URL
from tests.live_service import live_service
from webhooks.openapi import declared

ADMIN_TOKEN = "openapi-admin-token-" + "x" * 16
OPERATOR_TOKEN = "openapi-operator-token-" + "w" * 16
SID, TOKEN = "AC" + "a" * 32, "openapi-auth-token-" + "y" * 13
MAX_EXAMPLES = 8           # fuzzed requests per operation, besides the coverage cases (2 cores, ~60 s in all)
SEED = 20261205
STREAMS = ["/api/stats/stream", "/api/agents/{agent_id}/events"]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SENT = {"admin": 0, "anonymous": 0, "operations": set(), "statuses": {}}


def config(max_examples: int) -> schemathesis.Config:
    return schemathesis.Config.from_dict({
        "seed": SEED,
        "generation": {"max-examples": max_examples, "deterministic": True, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
        # not the string literals of the loaded modules as values: they depend on what else the run imported
        "analysis": {"constants": {"enabled": False}},
    })


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """(base URL, the demo's agent ids) of the real service; Twilio is never reached (no calls here)."""
    started = time.monotonic()
    with live_service(tmp_path_factory.mktemp("openapi"), account_sid=SID, auth_token=TOKEN,
                      admin_token=ADMIN_TOKEN, api_url="http://127.0.0.1:9", redis_url=REDIS_URL,
                      env={"OPERATOR_TOKEN": OPERATOR_TOKEN}) as (url, log, cfg):
        yield url, [agent["id"] for agent in cfg["agents"]]
        print(f"\nschemathesis: {len(SENT['operations'])} operations, {SENT['admin']} requests as the admin, "
              f"{SENT['anonymous']} without credentials, {time.monotonic() - started:.1f} s with the service's start")
        for label, statuses in sorted(SENT["statuses"].items()):
            print(f"  {label}: {dict(sorted(statuses.items()))}")


def loaded(service, max_examples: int):
    url, agents = service
    schema = schemathesis.openapi.from_url(f"{url}/api/openapi.json", config=config(max_examples))

    @schema.hook
    def map_path_parameters(context, path_parameters: dict) -> dict:
        """Two agent ids in three become one of the demo's agents (a valid id stays valid); not for
        DELETE, which would leave no agent for the operations after it."""
        value = (path_parameters or {}).get("agent_id")
        if context.operation.method.upper() != "DELETE" and isinstance(value, str) and value and value.isascii() and (value.isalnum() or set(value) <= set("_-")):
            pick = sum(map(ord, value)) % (len(agents) + len(agents) // 2)
            if pick < len(agents):
                path_parameters["agent_id"] = agents[pick]
        return path_parameters

    return schema


@pytest.fixture(scope="module")
def admin_schema(service):
    return loaded(service, MAX_EXAMPLES)


@pytest.fixture(scope="module")
def anonymous_schema(service):
    return loaded(service, 2)


@pytest.fixture(scope="module")
def base_url(service):
    return service[0]


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request):
    """Schemathesis 4.32's lazy schemas read and write the test item's `_nodeid`, which pytest 9 no
    longer has (it names each operation's subtest by it): give the item one."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


as_admin = schemathesis.pytest.from_fixture("admin_schema").exclude(path=STREAMS)
anonymous = schemathesis.pytest.from_fixture("anonymous_schema").exclude(path=STREAMS)


@as_admin.parametrize()
@settings(suppress_health_check=list(HealthCheck), deadline=None)
def test_every_operation_answers_the_admin_as_described(case, base_url):
    SENT["admin"] += 1
    SENT["operations"].add(case.operation.label)
    token = OPERATOR_TOKEN if case.operation.path.startswith("/api/workspaces") else ADMIN_TOKEN
    response = case.call_and_validate(base_url=base_url, headers={"Authorization": f"Bearer {token}"},
                                      checks=CHECKS)
    statuses = SENT["statuses"].setdefault(case.operation.label, {})
    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1


@anonymous.parametrize()
@settings(suppress_health_check=list(HealthCheck), deadline=None)
def test_every_operation_answers_a_caller_without_credentials_as_described(case, base_url):
    SENT["anonymous"] += 1
    response = case.call_and_validate(base_url=base_url, checks=CHECKS)
    # (a method the path does not take answers 405 before anything else)
    if case.operation.definition.raw.get("security") != [] and case.method.upper() == case.operation.method.upper():
        assert response.status_code == 401, (case.operation.label, response.status_code, response.text[:200])


# -- the description itself, in-process --------------------------------------------------------------------

def test_the_description_is_valid_openapi_3_1_and_lists_every_api_rule(app):
    answer = app.test_client().get("/api/openapi.json")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    description = answer.get_json()
    assert description["openapi"] == "3.1.0"
    validate(description)
    undeclared = [f"{method} {path}" for method, path, op in declared(app) if op is None]
    assert undeclared == [], "declare these with webhooks.openapi.operation"
    listed = {(method.upper(), path) for path, ops in description["paths"].items() for method in ops}
    assert listed == {(method, path) for method, path, _ in declared(app)}
    for path, ops in description["paths"].items():
        for method, op in ops.items():
            errors = {"401", "403"} if op["security"] else set()
            assert errors <= set(op["responses"]), (method, path)
            for status, answer in op["responses"].items():
                if status >= "400" and path != "/api/health":        # its 503 says which store is down
                    assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_every_field_of_a_request_is_bounded(app):
    """Strings have a length limit (or an enum, or a pattern of bounded length), numbers a range."""
    description = app.test_client().get("/api/openapi.json").get_json()
    schemas = description["components"]["schemas"]

    def unbounded(schema: dict, where: str) -> list[str]:
        if "$ref" in schema:
            return unbounded(schemas[schema["$ref"].rsplit("/", 1)[1]], where)
        found = []
        for key in ("anyOf", "oneOf", "allOf"):
            for i, part in enumerate(schema.get(key, [])):
                found += unbounded(part, f"{where}.{key}[{i}]")
        kind = schema.get("type")
        if kind == "string" and not ({"maxLength", "enum", "const"} & set(schema)):
            found.append(where)
        if kind == "integer" and not ({"minimum", "maximum"} <= set(schema) or "enum" in schema):
            found.append(where)
        if kind == "array":
            found += [where] if "maxItems" not in schema else unbounded(schema.get("items", {}), f"{where}[]")
        if kind == "object":
            for name, prop in schema.get("properties", {}).items():
                found += unbounded(prop, f"{where}.{name}")
            for pattern, prop in schema.get("patternProperties", {}).items():
                found += unbounded(prop, f"{where}.<{pattern}>")
            if schema.get("patternProperties") and "maxProperties" not in schema:
                found.append(where)
        return found

    problems = []
    for path, ops in description["paths"].items():
        for method, op in ops.items():
            for parameter in op.get("parameters", []):
                problems += unbounded(parameter["schema"], f"{method} {path} {parameter['in']} {parameter['name']}")
            if "requestBody" in op:
                problems += unbounded(op["requestBody"]["content"]["application/json"]["schema"], f"{method} {path} body")
    assert problems == []


@pytest.mark.parametrize("body, status", [
    ("[" * 100_000, 400), ("{not json", 400), ("[1, 2]", 400), ("null", 400), ('{"status": "busy"}', 400),
    ('{"status": "break", "colour": "blue"}', 400), ('{"status": "break"}', 404),
])
def test_a_body_is_checked_after_who_asks(app, body, status):
    client = app.test_client()
    anonymous = client.post("/api/agents/nobody/status", data=body, content_type="application/json")
    assert anonymous.status_code == 401 and anonymous.get_json()["error"]
    admin = client.post("/api/agents/nobody/status", data=body, content_type="application/json",
                        headers={"Authorization": "Bearer test-admin-token"})
    assert admin.status_code == status and admin.get_json()["error"]


def test_a_refusal_names_the_field(app):
    client = app.test_client()
    admin = {"Authorization": "Bearer test-admin-token"}
    extra = client.post("/api/agents/nobody/status", json={"status": "break", "colour": "blue"}, headers=admin)
    assert extra.get_json()["error"].startswith("colour: unknown setting")
    limit = client.get("/api/calls?limit=%C2%B2", headers=admin)              # "²": isdigit() but no ASCII digit
    assert limit.status_code == 400 and limit.get_json()["error"].startswith("limit: must be a whole number")
    day = client.get("/api/calls?from=9999-12-31", headers=admin)
    assert day.status_code == 400 and day.get_json()["error"].startswith("from: must be a date YYYY-MM-DD from 2000")
