"""Load and validate the contact-center YAML (CONTRACT.md, "Contact-center config").

Every problem is reported with the file, the dotted path inside it and the
reason, all at once, so an operator fixes a config in one pass:

    config/acme.yaml: flows.main.nodes.menu.options.2: unknown node 'tech_qq'
"""
from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import yaml

from . import config_rules, placeholders
from . import config_speech as speech_config
from .checker import NAME, Checker, e164_problem
from .config_flows import parse_flow
from .config_users import check_users
from .hours import Schedule
from .model import DISPOSITIONS, STRATEGIES, ContactCenter, Escalation, Queue, WhenDown


class ConfigError(Exception):
    def __init__(self, file: str, problems: list[tuple[str, str]]):
        self.file = file
        self.problems = problems
        lines = [f"{file}: {path or '(top)'}: {reason}" for path, reason in problems]
        super().__init__("invalid contact-center config\n" + "\n".join(lines))


class _Loader(yaml.SafeLoader):
    """YAML 1.2 booleans: `yes`, `no`, `on`, `off` stay words (they are speech options)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def read_yaml(text: str):
    """YAML as the contact-center config reads it (raises yaml.YAMLError)."""
    return yaml.load(text, Loader=_Loader)

QUEUE_KEYS = {"skills", "priority", "hours", "service_level_s", "max_wait_s", "offer_timeout_s", "wrapup_s",
              "max_missed", "overflow", "escalate", "strategy", "local_first", "preferred_agent_wait_s",
              "announce_every_s", "hold_message", "hold_music", "callback", "dispositions", "survey",
              "service_level_target", "transfer_wait_s", "transfer_priority", "alerts", "rules"}
MAX_DISPOSITION = 64      # the wrap-up API's limit


def _dispositions(c: Checker, raw, path: str) -> tuple[str, ...]:
    """A queue's wrap-up choices: a non-empty list of distinct non-empty texts."""
    return _choices(c, raw, path, "disposition", DISPOSITIONS)


def _choices(c: Checker, raw, path: str, noun: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """A list of choices people pick from: distinct non-empty short texts; `default` when unset."""
    if raw is None:
        return default
    if not isinstance(raw, list) or not raw:
        c.bad(path, "must be a non-empty list of texts")
        return default
    out = []
    for i, item in enumerate(raw):
        if isinstance(item, bool) or not isinstance(item, (str, int, float)) or not str(item).strip():
            c.bad(f"{path}.{i}", "must be a non-empty text")
        elif len(str(item).strip()) > MAX_DISPOSITION:
            c.bad(f"{path}.{i}", f"at most {MAX_DISPOSITION} characters")
        elif str(item).strip() in out:
            c.bad(f"{path}.{i}", f"duplicate {noun} {str(item).strip()!r}")
        else:
            out.append(str(item).strip())
    return tuple(out) or default


def _target(c: Checker, raw, path: str) -> float:
    """A service-level target: a share between 0 and 1 (0.8), or a percentage ("80%")."""
    if raw is None:
        return Queue.service_level_target
    value = raw
    if isinstance(raw, str) and raw.strip().endswith("%"):
        try:
            value = float(raw.strip()[:-1]) / 100
        except ValueError:
            value = None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        c.bad(path, f"must be a share between 0 and 1 (0.8) or a percentage (\"80%\"), not {raw!r}")
        return Queue.service_level_target
    return float(value)


def _queue(c: Checker, name: str, raw, hours: dict, cc_language: str = "en-US") -> Queue:
    path = f"queues.{name}"
    raw = c.mapping(raw, path)
    c.keys(raw, path, QUEUE_KEYS)
    hours_name = raw.get("hours")
    if hours_name is not None and hours_name not in hours:
        c.bad(f"{path}.hours", f"unknown hours {hours_name!r} (declared: {', '.join(hours) or 'none'})")
    strategy = raw.get("strategy", "longest_idle")
    if strategy not in STRATEGIES:
        c.bad(f"{path}.strategy", f"unknown strategy {strategy!r} (one of {', '.join(STRATEGIES)})")
    escalate, last = [], 0
    steps = raw.get("escalate") or []
    if not isinstance(steps, list):
        c.bad(f"{path}.escalate", "must be a list of {after_s, skills}")
        steps = []
    for i, step in enumerate(steps):
        step = c.mapping(step, f"{path}.escalate.{i}", required=True)
        c.keys(step, f"{path}.escalate.{i}", {"after_s", "skills"})
        after = c.integer(step.get("after_s"), f"{path}.escalate.{i}.after_s", 0, 1)
        if after and after <= last:
            c.bad(f"{path}.escalate.{i}.after_s", "escalation steps must come in increasing after_s")
        last = max(last, after)
        escalate.append(Escalation(after, c.skills(step.get("skills"), f"{path}.escalate.{i}.skills")))
    local_first = raw.get("local_first", False)
    for flag in ("local_first", "callback", "survey"):
        if not isinstance(raw.get(flag, False), bool):
            c.bad(f"{path}.{flag}", "must be true or false")
    hold_message, hold_messages = speech_config.localized(c, raw.get("hold_message"), f"{path}.hold_message",
                                                          cc_language)
    return Queue(
        name=name,
        skills=c.skills(raw.get("skills"), f"{path}.skills"),
        priority=c.integer(raw.get("priority"), f"{path}.priority", 0, -1000, 1000),
        hours=hours_name,
        service_level_s=c.integer(raw.get("service_level_s"), f"{path}.service_level_s", 20, 1),
        max_wait_s=c.integer(raw.get("max_wait_s"), f"{path}.max_wait_s", None, 1),
        offer_timeout_s=c.integer(raw.get("offer_timeout_s"), f"{path}.offer_timeout_s", 15, 1, 600),
        wrapup_s=c.integer(raw.get("wrapup_s"), f"{path}.wrapup_s", 30, 0, 3600),
        max_missed=c.integer(raw.get("max_missed"), f"{path}.max_missed", 3, 1, 100),
        overflow=raw.get("overflow"),
        escalate=tuple(escalate),
        strategy=strategy if strategy in STRATEGIES else "longest_idle",
        local_first=bool(local_first),
        callback=raw.get("callback", True) is not False,
        preferred_agent_wait_s=c.integer(raw.get("preferred_agent_wait_s"), f"{path}.preferred_agent_wait_s", 0, 0),
        announce_every_s=c.integer(raw.get("announce_every_s"), f"{path}.announce_every_s", 60, 10),
        hold_message=hold_message or Queue.hold_message, hold_messages=hold_messages,
        hold_music=c.text(raw.get("hold_music"), f"{path}.hold_music"),
        survey=raw.get("survey", False) is True,
        service_level_target=_target(c, raw.get("service_level_target"), f"{path}.service_level_target"),
        dispositions=_dispositions(c, raw.get("dispositions"), f"{path}.dispositions"),
        transfer_wait_s=c.integer(raw.get("transfer_wait_s"), f"{path}.transfer_wait_s", 30, 0, 3600),
        transfer_priority=c.integer(raw.get("transfer_priority"), f"{path}.transfer_priority", 0, -1000, 1000),
        alerts=_alerts(c, raw.get("alerts"), f"{path}.alerts"),
    )


def _alerts(c: Checker, raw, path: str) -> dict:
    """A queue's alert thresholds for the board: longest_wait_s, service_level (a share or a
    percentage), waiting (callers in line)."""
    raw = c.mapping(raw, path)
    c.keys(raw, path, {"longest_wait_s", "service_level", "waiting"})
    out = {}
    if raw.get("longest_wait_s") is not None:
        out["longest_wait_s"] = c.integer(raw["longest_wait_s"], f"{path}.longest_wait_s", None, 1, 86400)
    if raw.get("service_level") is not None:
        out["service_level"] = _target(c, raw["service_level"], f"{path}.service_level")
    if raw.get("waiting") is not None:
        out["waiting"] = c.integer(raw["waiting"], f"{path}.waiting", None, 1, 100000)
    return out

def _contacts(c: Checker, raw, fields: dict[str, str]) -> tuple[dict, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        c.bad("contacts", "must be a list")
        return ()
    out, owners = [], {}
    for i, item in enumerate(raw):
        path = f"contacts.{i}"
        item = c.mapping(item, path, required=True)
        c.keys(item, path, {"phone", "phones", "name", "company", "account_value", "tier", "notes", "tags", "fields"})
        phones = item.get("phones") or ([item["phone"]] if "phone" in item else [])
        if not phones:
            c.bad(path, "a contact needs phone or phones")
        for j, phone in enumerate(phones):
            where = f"{path}.phones.{j}" if "phones" in item else f"{path}.phone"
            if problem := e164_problem(phone):
                c.bad(where, problem)
            elif phone in owners:
                c.bad(where, f"{phone} already belongs to contacts.{owners[phone]}")
            else:
                owners[phone] = i
        c.text(item.get("name"), f"{path}.name", required=True)
        value = item.get("account_value")
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
            c.bad(f"{path}.account_value", "must be a number >= 0")
        out.append({**item, "fields": config_rules.field_values(c, item.get("fields"), f"{path}.fields", fields)})
    return tuple(out)


AGENT_KEYS = {"id", "name", "skills", "timezone", "schedule", "languages", "auto_accept"}


def check_agent(c: Checker, item, path: str, default_tz: str, partial: bool = False) -> dict:
    """One agent (config or API): id, name, skills 1-10, IANA time zone, weekly schedule, languages.
    `partial` checks only the fields present (an API PATCH)."""
    item = c.mapping(item, path, required=True)
    c.keys(item, path, AGENT_KEYS)
    out = dict(item)
    if not partial or "id" in item:
        c.name(item.get("id"), f"{path}.id")
    if not partial or "name" in item:
        c.text(item.get("name"), f"{path}.name", required=True)
    if not partial or "timezone" in item:
        out["timezone"] = c.timezone(item.get("timezone"), f"{path}.timezone", default_tz)
    if item.get("schedule") is not None:
        c.schedule(item["schedule"], out.get("timezone") or default_tz, None, path, weekly_key="schedule")
    languages = item.get("languages") or []
    if not isinstance(languages, list) or not all(isinstance(x, str) for x in languages):
        c.bad(f"{path}.languages", "must be a list of language codes")
    if not isinstance(item.get("auto_accept", False), bool):
        c.bad(f"{path}.auto_accept", "must be true or false")
    if not partial or "skills" in item:
        out["skills"] = c.skills(item.get("skills"), f"{path}.skills")
    return out


def _agents(c: Checker, raw, default_tz: str) -> tuple[dict, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        c.bad("agents", "must be a list")
        return ()
    out, ids = [], set()
    for i, item in enumerate(raw):
        agent = check_agent(c, item, f"agents.{i}", default_tz)
        if agent.get("id") is not None and agent["id"] in ids:
            c.bad(f"agents.{i}.id", f"duplicate agent id {agent['id']!r}")
        ids.add(agent.get("id"))
        out.append(agent)
    return tuple(out)


def _when_down(c: Checker, raw, cc: dict) -> WhenDown:
    """What callers hear when the router is down: optional `say` (no placeholders: nothing about the
    caller is known then), optional backup `transfer` number; `language`/`voice` for your own words
    (default: the config's; the built-in apology is English)."""
    raw = c.mapping(raw, "when_down")
    c.keys(raw, "when_down", {"say", "transfer", "language", "voice"})
    say = c.text(raw.get("say"), "when_down.say")
    if say is not None and not say.strip():
        c.bad("when_down.say", "must not be empty (leave it out for the default apology)")
        say = None
    elif say is not None and placeholders.problem(say) is None and placeholders.used(say):
        c.bad("when_down.say", "no placeholders: the caller's contact is not known when the router is down")
    transfer = raw.get("transfer")
    if transfer is not None and (problem := e164_problem(transfer)):
        c.bad("when_down.transfer", problem)
        transfer = None
    own_words = say is not None
    return WhenDown(say=say, transfer=transfer,
                    language=c.text(raw.get("language"), "when_down.language", cc["language"] if own_words else None),
                    voice=c.text(raw.get("voice"), "when_down.voice", cc["voice"] if own_words else None))


def parse_config(data, file: str = "<config>") -> ContactCenter:
    c = Checker()
    data = c.mapping(data, "", required=True)
    c.keys(data, "", {"workspace", "timezone", "language", "voice", "hours", "queues", "agents",
                         "contacts", "numbers", "flows", "when_down", "users", "monitor_notice", "break_reasons",
                         "contact_fields", "crm_wait_ms"})
    workspace = data.get("workspace")
    if not isinstance(workspace, str) or not NAME.match(workspace):
        c.bad("workspace", f"bad workspace {workspace!r}: letters, digits, '_' and '-' (it becomes a Redis hash tag)")
    tz = c.timezone(data.get("timezone"), "timezone", "UTC")
    cc = {"language": c.text(data.get("language"), "language", "en-US"), "voice": c.text(data.get("voice"), "voice")}
    hours: dict[str, Schedule] = {}
    for name, raw in c.mapping(data.get("hours"), "hours").items():
        raw = c.mapping(raw, f"hours.{name}", required=True)
        c.keys(raw, f"hours.{name}", {"timezone", "weekly", "holidays"})
        sched = c.schedule(raw.get("weekly"), c.timezone(raw.get("timezone"), f"hours.{name}.timezone", tz),
                           raw.get("holidays"), f"hours.{name}")
        if c.name(name, f"hours.{name}") and sched:
            hours[name] = sched
    cc["hours"] = {n: True for n in c.mapping(data.get("hours"), "hours")}
    queues = {name: _queue(c, name, raw, cc["hours"], cc["language"])
              for name, raw in c.mapping(data.get("queues"), "queues").items() if c.name(name, f"queues.{name}")}
    cc["queues"] = queues
    cc["contact_fields"] = config_rules.contact_fields(c, data.get("contact_fields"))
    for name, raw in c.mapping(data.get("queues"), "queues").items():
        if name in queues and isinstance(raw, dict) and raw.get("rules") is not None:
            queues[name] = replace(queues[name], rules=config_rules.queue_rules(c, raw["rules"],
                                                                                f"queues.{name}.rules", cc))
    flows_raw = c.mapping(data.get("flows"), "flows", required=True)
    if not flows_raw:
        c.bad("flows", "at least one flow is required")
    flows = {}
    for name, raw in flows_raw.items():
        if c.name(name, f"flows.{name}") and (flow := parse_flow(c, name, raw, cc, queues)):
            flows[name] = flow
    numbers = {}
    for number, flow in c.mapping(data.get("numbers"), "numbers").items():
        if problem := e164_problem(number):
            c.bad(f"numbers.{number}", problem)
        elif flow not in flows_raw:
            c.bad(f"numbers.{number}", f"unknown flow {flow!r}")
        else:
            numbers[number] = flow
    agents = _agents(c, data.get("agents"), tz)
    contacts = _contacts(c, data.get("contacts"), cc["contact_fields"])
    crm_wait_ms = c.integer(data.get("crm_wait_ms"), "crm_wait_ms", 300, 0, 5000)
    users = check_users(c, data.get("users"), {a.get("id") for a in agents})
    when_down = _when_down(c, data.get("when_down"), cc)
    if not isinstance(data.get("monitor_notice", False), bool):
        c.bad("monitor_notice", "must be true or false")
    break_reasons = _choices(c, data.get("break_reasons"), "break_reasons", "break reason", ())
    if c.problems:
        raise ConfigError(file, c.problems)
    return ContactCenter(path=file, workspace=workspace, timezone=tz, hours=hours, queues=queues, flows=flows,
                         numbers=numbers, agents=agents, contacts=contacts, when_down=when_down, users=users,
                         monitor_notice=data.get("monitor_notice") is True, break_reasons=break_reasons,
                         contact_fields=cc["contact_fields"], crm_wait_s=crm_wait_ms / 1000)


def load_config(path) -> ContactCenter:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [("", f"cannot read: {exc.strerror or exc}")]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), [("", f"not UTF-8 text: {exc}")]) from None
    try:
        data = read_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise ConfigError(str(path), [(where, f"not valid YAML: {getattr(exc, 'problem', None) or exc}")]) from None
    return parse_config(data, str(path))
