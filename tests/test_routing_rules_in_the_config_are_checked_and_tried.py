"""Routing rules in the config are checked as the rest of it is (every problem with its path: syntax,
unknown attributes, queues and contact fields, type mistakes, missing targets, loops), and a person
can try a node's rules on a sample caller: `flask rules test` and `POST /api/rules/test`."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from contactcenter.config import ConfigError, parse_config
from tests.conftest import seed_demo

DEMO = yaml.safe_load((Path(__file__).resolve().parent.parent / "config" / "demo.yaml").read_text())
ADMIN = {"Authorization": "Bearer test-admin-token"}
MEMBERS = "+15005550009"          # the demo's members' line: routing rules before any menu


def problems(change) -> list[str]:
    config = copy.deepcopy(DEMO)
    change(config)
    with pytest.raises(ConfigError) as caught:
        parse_config(config, "rules.yaml")
    return [f"{path}: {reason}" for path, reason in caught.value.problems]


def triage(config, route, otherwise="menu"):
    config["flows"]["main"]["nodes"]["triage"] = {"route": route, **({"else": otherwise} if otherwise else {})}
    config["flows"]["main"]["nodes"]["open_check"]["open"] = "triage"


@pytest.mark.parametrize("route, found", [
    ([{"when": 'contact.tier = "vip"', "then": "sales_q"}], "route[0].when: syntax"),
    ([{"when": "caler.region == 'ES'", "then": "sales_q"}], "route[0].when: unknown attribute 'caler'"),
    ([{"when": "queues.biling.waiting > 3", "then": "sales_q"}], "route[0].when: unknown queue 'biling'"),
    ([{"when": "contact.seats > 3", "then": "sales_q"}], "route[0].when: unknown contact field 'seats'"),
    ([{"when": "caller.region > 5", "then": "sales_q"}], "route[0].when: type mistake"),
    ([{"when": "now.hour", "then": "sales_q"}], "route[0].when: must be true or false"),
    ([{"when": "now.hour > 8", "then": "nowhere"}], "route[0].then: unknown node 'nowhere'"),
    ([{"when": "now.hour > 8"}], "route[0].then: is required"),
    ([{"when": "now.hour > 8", "then": "sales_q", "else": "menu"}], "route[0].else: unknown setting"),
    ([], "triage.route: must be a list"),
    ([{"when": "now.hour > 8", "then": "triage"}], "loops back to itself"),
])
def test_a_bad_route_is_reported_with_its_path(route, found):
    reported = problems(lambda config: triage(config, route))
    assert any(found in line and line.startswith("flows.main.nodes.triage") for line in reported), reported


def test_a_route_needs_an_else_and_every_problem_is_reported_at_once():
    reported = problems(lambda config: triage(config, [{"when": "now.hour >", "then": "x"},
                                                       {"when": "true", "then": "sales_q"}], otherwise=None))
    assert any(line.startswith("flows.main.nodes.triage.else: is required") for line in reported), reported
    assert any(line.startswith("flows.main.nodes.triage.route[0].when: syntax") for line in reported)
    assert any(line.startswith("flows.main.nodes.triage.route[0].then: unknown node 'x'") for line in reported)


def test_bad_queue_rules_and_contact_fields_are_reported_with_their_paths():
    def change(config):
        config["queues"]["tech"]["rules"] = [{"when": "contact.plan > 1", "priority": 1},
                                             {"when": "true"}, {"when": "true", "skills": {"tech": 11}}]
        config["contact_fields"]["tier"] = "text"
        config["contact_fields"]["size"] = "huge"
        config["contacts"][1]["fields"] = {"plan": 3, "colour": "red"}
    reported = problems(change)
    for found in ("queues.tech.rules[0].when: type mistake", "queues.tech.rules[1]: a queue rule raises",
                  "queues.tech.rules[2].skills.tech", "contact_fields.tier: 'tier' is a built-in",
                  "contact_fields.size: unknown type 'huge'", "contacts.1.fields.plan: must be text",
                  "contacts.1.fields.colour: unknown custom field"):
        assert any(line.startswith(found) for line in reported), (found, reported)


def test_the_demo_config_shows_rules():
    cc = parse_config(copy.deepcopy(DEMO), "demo.yaml")
    assert cc.flows["members"].nodes["triage"].kind == "route" and cc.queues["billing"].rules
    assert cc.flow_for("+15005550009").name == "members"
    assert cc.contact_fields == {"plan": "text", "open_tickets": "number"}


@pytest.fixture
def client(seeded):
    return seeded.test_client()


def test_the_api_says_which_rule_fires_for_a_sample_caller_and_why(client):
    assert client.post("/api/rules/test", json={}).status_code == 401
    answer = client.post("/api/rules/test", json={"from": "+14155550100", "queue": "billing"}, headers=ADMIN)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["fired"] == [0, 1] and body["priority"] == 1 and body["skills"] == {"billing": 3}
    assert body["rules"][0]["reads"]["contact"]["tier"] == "vip"            # read from the CRM
    what_if = client.post("/api/rules/test", json={"to": MEMBERS, "queues": {"billing": {
        "waiting": 12, "longest_wait_s": 300}}}, headers=ADMIN).get_json()
    assert what_if["node"] == "triage" and what_if["fired"] == 4 and what_if["next"] == "billing_callback"
    assert what_if["rules"][4]["reads"]["queues"]["billing"]["available"] == 0      # the live figure kept
    spain = client.post("/api/rules/test", json={"flow": "members", "from": "+34912345678"}, headers=ADMIN)
    assert spain.get_json()["fired"] == 2 and spain.get_json()["context"]["caller"]["region"] == "ES"
    unknown = client.post("/api/rules/test", json={"to": MEMBERS, "call": {"calls_today": "three"}},
                          headers=ADMIN).get_json()
    assert unknown["rules"][3]["holds"] is False and unknown["rules"][3]["error"]   # why it did not evaluate


@pytest.mark.parametrize("body, status", [
    ({"flow": "nope"}, 404), ({"queue": "nope"}, 404), ({"queue": "tech"}, 400), ({"flow": "spanish"}, 400),
    ({"flow": "members", "node": "menu"}, 400), ({"flow": "members", "node": "nope"}, 404), ({"contact": {"x": {"deep": 1}}}, 400), ({"queues": {"billing": {"waiting": "x"}}}, 400),
    ({"surprise": 1}, 400),
])
def test_the_api_refuses_what_it_cannot_try(client, body, status):
    assert client.post("/api/rules/test", json=body, headers=ADMIN).status_code == status


def test_flask_rules_test_prints_each_rule_and_where_the_call_goes(seeded):
    seed_demo(seeded.extensions["callrouter"])
    runner = seeded.test_cli_runner()
    done = runner.invoke(args=["rules", "test", "--to", MEMBERS, "--from", "+15551230000", "--set",
                               "queues.billing.waiting=12", "--set", "queues.billing.longest_wait_s=300"])
    assert done.exit_code == 0, done.output
    assert "members.triage:" in done.output and "fires: rule 4 -> billing_callback" in done.output
    queue = runner.invoke(args=["rules", "test", "--queue", "billing", "--from", "+14155550100"])
    assert "held: [0, 1]; priority +1, skills {'billing': 3}" in queue.output, queue.output
    bad = runner.invoke(args=["rules", "test", "--set", "nothing=1"])
    assert bad.exit_code == 2 and "ATTR.MEMBER=VALUE" in bad.output
