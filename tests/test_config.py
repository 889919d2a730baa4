"""Contact-center config: the demo loads; each kind of mistake names file, path and reason."""
from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from contactcenter.config import ConfigError, load_config, parse_config

REPO = Path(__file__).resolve().parent.parent
DEMO = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())


def problems(mutate) -> list[tuple[str, str]]:
    data = copy.deepcopy(DEMO)
    mutate(data)
    with pytest.raises(ConfigError) as info:
        parse_config(data, "acme.yaml")
    return info.value.problems


def only(mutate) -> tuple[str, str]:
    found = problems(mutate)
    assert len(found) == 1, found
    return found[0]


def nodes(data, flow="main"):
    return data["flows"][flow]["nodes"]


def test_demo_config_loads():
    cc = load_config(REPO / "config" / "demo.yaml")
    assert cc.workspace == "acme"
    assert cc.flow_for("+15005550006").name == "main"
    assert cc.flow_for("+15005550007").name == "spanish"
    assert cc.flow_for("+19999999999").name == "main"      # unlisted numbers get the first flow
    assert cc.flows["main"].nodes["menu"].options["1"] == "billing_q"
    assert cc.flows["main"].uses_contact and not cc.flows["spanish"].uses_contact


def test_callback_nodes_name_a_queue_that_takes_callbacks():
    path, reason = only(lambda d: nodes(d)["tech_callback"].update({"callback": "nope"}))
    assert (path, reason) == ("flows.main.nodes.tech_callback.callback",
                              "unknown queue 'nope' (declared: billing, tech, sales)")
    path, reason = only(lambda d: d["queues"]["tech"].update({"callback": False}))
    assert (path, reason) == ("flows.main.nodes.tech_callback.callback",
                              "queue 'tech' does not take callbacks (callback: false)")


def test_dangling_option_reference():
    path, reason = only(lambda d: nodes(d)["menu"]["options"].update({"2": "tech_qq"}))
    assert path == "flows.main.nodes.menu.options.2"
    assert reason == "unknown node 'tech_qq'"


def test_message_names_the_file_and_the_path():
    data = copy.deepcopy(DEMO)
    nodes(data)["welcome"]["next"] = "nowhere"
    with pytest.raises(ConfigError) as info:
        parse_config(data, "/etc/callrouter/acme.yaml")
    assert "/etc/callrouter/acme.yaml: flows.main.nodes.welcome.next: unknown node 'nowhere'" in str(info.value)


def test_unreachable_node():
    path, reason = only(lambda d: nodes(d).update({"orphan": {"say": "never heard"}}))
    assert (path, reason) == ("flows.main.nodes.orphan", "unreachable from start node 'welcome'")


def test_unknown_start():
    assert only(lambda d: d["flows"]["main"].update(start="nope")) == ("flows.main.start", "unknown node 'nope'")


def test_missing_queue():
    path, reason = only(lambda d: nodes(d)["billing_q"].update(queue="refunds"))
    assert path == "flows.main.nodes.billing_q.queue"
    assert reason.startswith("unknown queue 'refunds'")


def test_queue_overflow_node_missing_in_a_flow_that_uses_it():
    found = problems(lambda d: d["queues"]["sales"].update(overflow="nowhere"))
    assert {path for path, _ in found} == {"queues.sales.overflow"}          # once per flow that queues for sales
    assert any("unknown node 'nowhere' in flow 'main'" in reason for _, reason in found)
    assert any("in flow 'multilingual'" in reason for _, reason in found)


@pytest.mark.parametrize("weekly, where, words", [
    ({"mon-fry": "08:00-20:00"}, "hours.support.weekly.mon-fry", "unknown day range"),
    ({"mon": "8am-5pm"}, "hours.support.weekly.mon", "bad time"),
    ({"mon": "17:00-09:00"}, "hours.support.weekly.mon", "ends before it starts"),
    ({"mon": "09:00-24:30"}, "hours.support.weekly.mon", "bad time"),
    ({"mon": "24:00-24:00"}, "hours.support.weekly.mon", "bad time"),
    ({"fri-mon": "09:00-17:00"}, "hours.support.weekly.fri-mon", "runs backwards"),
])
def test_bad_hours(weekly, where, words):
    path, reason = only(lambda d: d["hours"]["support"].update(weekly=weekly))
    assert path == where and words in reason


def test_bad_holidays():
    path, reason = only(lambda d: d["hours"]["support"].update(holidays="Atlantis"))
    assert path == "hours.support.holidays" and "unknown holiday calendar" in reason
    path, reason = only(lambda d: d["hours"]["support"].update(holidays=["2026-02-30"]))
    assert path == "hours.support.holidays.0" and "bad date" in reason


def test_unknown_hours_reference():
    path, reason = only(lambda d: nodes(d)["open_check"].update(hours="weekend"))
    assert path == "flows.main.nodes.open_check.hours" and "unknown hours 'weekend'" in reason


@pytest.mark.parametrize("where, mutate", [
    ("timezone", lambda d: d.update(timezone="America/Gotham")),
    ("hours.support.timezone", lambda d: d["hours"]["support"].update(timezone="Mars/Olympus")),
    ("agents.0.timezone", lambda d: d["agents"][0].update(timezone="CET+99")),
    ("agents.1.timezone", lambda d: d["agents"][1].update(timezone="America")),          # a directory
    ("agents.2.timezone", lambda d: d["agents"][2].update(timezone="Europe/" + "x" * 300)),
])
def test_bad_time_zones(where, mutate):
    path, reason = only(mutate)
    assert path == where and "unknown time zone" in reason


@pytest.mark.parametrize("where, mutate", [
    ("numbers.+1500", lambda d: d["numbers"].update({"+1500": "main"})),
    ("contacts.0.phone", lambda d: d["contacts"][0].update(phone="+1 415 555 0100")),
    ("contacts.0.phone", lambda d: d["contacts"][0].update(phone=14155550100)),
    ("contacts.1.phones.1", lambda d: d["contacts"][1]["phones"].__setitem__(1, "call me")),
    ("flows.main.nodes.transfer_out.transfer",
     lambda d: (nodes(d).update(transfer_out={"transfer": "555-0100"}),
                nodes(d)["menu"]["options"].update({"0": "transfer_out"}))),
])
def test_bad_phone_numbers(where, mutate):
    path, reason = only(mutate)
    assert path == where and "phone number" in reason


def test_duplicate_contact_phone_and_agent_id():
    found = problems(lambda d: (d["contacts"][1]["phones"].append("+14155550100"),
                                d["agents"].append({"id": "alice", "name": "Alice Two"})))
    assert ("contacts.1.phones.2", "+14155550100 already belongs to contacts.0") in found
    assert ("agents.4.id", "duplicate agent id 'alice'") in found


def test_unknown_settings_and_kinds_and_placeholders():
    assert only(lambda d: d["queues"]["billing"].update(max_wait=5))[0] == "queues.billing.max_wait"
    path, reason = only(lambda d: nodes(d).update(welcome={"speak": "hi", "next": "open_check"}))
    assert path == "flows.main.nodes.welcome" and "exactly one kind" in reason
    path, reason = only(lambda d: nodes(d)["welcome"].update(say="Hi {account_number}"))
    assert path == "flows.main.nodes.welcome.say" and "unknown placeholder {account_number}" in reason
    path, reason = only(lambda d: d["queues"]["billing"].update(strategy="random"))
    assert path == "queues.billing.strategy" and "unknown strategy" in reason
    path, reason = only(lambda d: d["queues"]["billing"]["skills"].update(billing=11))
    assert path == "queues.billing.skills.billing" and "1..10" in reason


def test_silent_loop_is_refused():
    def loop(d):
        nodes(d)["closed"]["next"] = "welcome"
        nodes(d)["open_check"]["closed"] = "closed"
    path, reason = only(loop)
    assert "loops back to itself without waiting for the caller" in reason


def test_several_problems_reported_at_once():
    found = problems(lambda d: (nodes(d)["menu"].update(on_fail="x"), d.update(timezone="Nowhere/City")))
    assert {p for p, _ in found} >= {"flows.main.nodes.menu.on_fail", "timezone"}


def test_yes_and_no_stay_words(tmp_path):
    text = (REPO / "config" / "demo.yaml").read_text().replace(
        "          message: voicemail", "          message: voicemail\n          yes: billing_q\n          no: voicemail")
    path = tmp_path / "yesno.yaml"
    path.write_text(text)
    options = load_config(path).flows["main"].nodes["menu"].options
    assert options["yes"] == "billing_q" and options["no"] == "voicemail"


def test_yaml_syntax_error_names_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("workspace: acme\nflows:\n  main: {start: a\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value) and "line 4" in str(info.value) and "not valid YAML" in str(info.value)


def test_missing_file():
    with pytest.raises(ConfigError) as info:
        load_config("/nonexistent/acme.yaml")
    assert "/nonexistent/acme.yaml" in str(info.value) and "cannot read" in str(info.value)


def write_dangling(tmp_path) -> Path:
    data = copy.deepcopy(DEMO)
    nodes(data)["menu"]["options"]["2"] = "tech_qq"
    path = tmp_path / "dangling.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_flask_config_check_command(tmp_path, settings_env):
    env = {**settings_env, "PATH": "/usr/bin:/bin"}
    flask = [str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "config-check"]
    good = subprocess.run(flask + [str(REPO / "config" / "demo.yaml")], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)
    assert good.returncode == 0, good.stderr
    assert "ok (workspace acme" in good.stdout
    bad_path = write_dangling(tmp_path)
    bad = subprocess.run(flask + [str(bad_path)], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
    assert f"{bad_path}: flows.main.nodes.menu.options.2: unknown node 'tech_qq'" in bad.stderr


def test_make_run_launcher_stops_on_invalid_config(tmp_path, settings_env):
    """`make run` runs service.serve: an invalid config stops it before anything starts."""
    bad_path = write_dangling(tmp_path)
    env = {**settings_env, "CALLROUTER_CONFIG": str(bad_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "service.serve"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"{bad_path}: flows.main.nodes.menu.options.2: unknown node 'tech_qq'" in result.stderr


@pytest.mark.parametrize("value, expected", [(0.9, 0.9), ("85%", 0.85), (None, 0.8)])
def test_service_level_target_is_a_share_or_a_percentage(value, expected):
    data = copy.deepcopy(DEMO)
    if value is not None:
        data["queues"]["billing"]["service_level_target"] = value
    assert parse_config(data, "acme.yaml").queues["billing"].service_level_target == expected


@pytest.mark.parametrize("value", [1.5, "eighty", True, 0, "100%"])
def test_a_bad_service_level_target_names_the_path(value):
    path, reason = only(lambda d: d["queues"]["billing"].update({"service_level_target": value}))
    assert path == "queues.billing.service_level_target" and reason.startswith("must be a share between 0 and 1")


def test_survey_is_a_flag():
    path, reason = only(lambda d: d["queues"]["billing"].update({"survey": "yes"}))
    assert (path, reason) == ("queues.billing.survey", "must be true or false")


def test_a_queues_alert_thresholds_are_checked_with_their_paths():
    data = copy.deepcopy(DEMO)
    data["queues"]["sales"]["alerts"] = {"longest_wait_s": 45, "service_level": "70%", "waiting": 4}
    assert parse_config(data, "acme.yaml").queues["sales"].alerts == {"longest_wait_s": 45, "service_level": 0.7,
                                                                      "waiting": 4}
    data["queues"]["sales"]["alerts"] = {"longest_wait_s": 0, "service_level": 2, "loud": True}
    with pytest.raises(ConfigError) as err:
        parse_config(data, "acme.yaml")
    text = str(err.value)
    for path in ("queues.sales.alerts.longest_wait_s", "queues.sales.alerts.service_level", "queues.sales.alerts"):
        assert f"acme.yaml: {path}" in text or path in text, text
