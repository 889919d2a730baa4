"""Load and validate the contact-center YAML (CONTRACT.md, "Contact-center config").

Every problem is reported with the file, the dotted path inside it and the
reason, all at once, so an operator fixes a config in one pass:

    config/acme.yaml: flows.main.nodes.menu.options.2: unknown node 'tech_qq'
"""
from __future__ import annotations

import re
from pathlib import Path

import phonenumbers
import yaml

from . import placeholders
from .hours import Schedule, ScheduleError, parse_holidays, parse_weekly, zone
from .model import KINDS, STRATEGIES, ContactCenter, Escalation, Flow, Node, Queue

NAME = re.compile(r"^[A-Za-z0-9_-]{1,48}$")


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


def e164_problem(value) -> str | None:
    if not isinstance(value, str):
        return f"phone number {value!r} must be a quoted string in E.164 form (\"+14155550100\")"
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        return f"bad phone number {value!r}: {exc}"
    if not value.startswith("+") or not phonenumbers.is_possible_number(number):
        return f"bad phone number {value!r}: not a possible E.164 number"
    if phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) != value:
        return f"phone number {value!r} is not in E.164 form"
    return None


class _Checker:
    def __init__(self):
        self.problems: list[tuple[str, str]] = []

    def bad(self, path: str, reason: str) -> None:
        self.problems.append((path, reason))

    def mapping(self, value, path, required=False) -> dict:
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            self.bad(path, "must be a mapping" + (" and is required" if value is None else ""))
            return {}
        return value

    def keys(self, value: dict, path: str, allowed) -> None:
        for key in value:
            if key not in allowed:
                self.bad(_join(path, key), f"unknown setting (allowed: {', '.join(sorted(allowed))})")

    def integer(self, value, path, default, low=0, high=None):
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
            self.bad(path, f"must be a whole number {low}..{high}" if high is not None else f"must be a whole number >= {low}")
            return default
        return value

    def text(self, value, path, default=None, required=False):
        if value is None:
            if required:
                self.bad(path, "is required")
            return default
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            self.bad(path, "must be text")
            return default
        value = str(value)
        reason = placeholders.problem(value)
        if reason:
            self.bad(path, reason)
        return value

    def name(self, value, path) -> bool:
        if not isinstance(value, str) or not NAME.match(value):
            self.bad(path, f"bad name {value!r} (letters, digits, '_' and '-', at most 48)")
            return False
        return True

    def skills(self, value, path) -> dict[str, int]:
        out = {}
        for skill, level in self.mapping(value, path).items():
            if self.name(skill, f"{path}.{skill}"):
                out[skill] = self.integer(level, f"{path}.{skill}", 1, 1, 10)
        return out

    def timezone(self, value, path, default):
        if value is None:
            return default
        try:
            zone(value)
        except ScheduleError as exc:
            self.bad(path, exc.reason)
            return default
        return value

    def schedule(self, weekly, tz, holidays, path, weekly_key="weekly") -> Schedule | None:
        ok = True
        try:
            if weekly is not None:
                parse_weekly(weekly)
        except ScheduleError as exc:
            self.bad(_join(path, weekly_key, exc.path), exc.reason)
            ok = False
        try:
            parse_holidays(holidays)
        except ScheduleError as exc:
            self.bad(_join(path, "holidays", exc.path), exc.reason)
            ok = False
        return Schedule.parse(weekly, tz, holidays) if ok else None


def _join(*parts) -> str:
    return ".".join(str(p) for p in parts if p not in (None, ""))


QUEUE_KEYS = {"skills", "priority", "hours", "service_level_s", "max_wait_s", "offer_timeout_s", "wrapup_s",
              "max_missed", "overflow", "escalate", "strategy", "local_first", "preferred_agent_wait_s",
              "announce_every_s", "hold_message", "hold_music"}
COMMON_NODE_KEYS = {"language", "voice"}
NODE_KEYS = {
    "say": {"next"},
    "gather": {"options", "retries", "on_fail", "sorry", "timeout", "input"},
    "hours": {"open", "closed"},
    "queue": {"skills"},
    "voicemail": {"max_length", "transcribe", "thanks"},
    "transfer": {"timeout", "caller_id", "on_fail"},
    "hangup": set(),
}


def _queue(c: _Checker, name: str, raw, hours: dict) -> Queue:
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
    if not isinstance(local_first, bool):
        c.bad(f"{path}.local_first", "must be true or false")
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
        preferred_agent_wait_s=c.integer(raw.get("preferred_agent_wait_s"), f"{path}.preferred_agent_wait_s", 0, 0),
        announce_every_s=c.integer(raw.get("announce_every_s"), f"{path}.announce_every_s", 60, 10),
        hold_message=c.text(raw.get("hold_message"), f"{path}.hold_message", Queue.hold_message),
        hold_music=c.text(raw.get("hold_music"), f"{path}.hold_music"),
    )


def _node(c: _Checker, path: str, name: str, raw, cc: dict, flow_lang: str, flow_voice) -> Node | None:
    if not isinstance(raw, dict):
        c.bad(path, f"a node is a mapping with one of: {', '.join(KINDS)}")
        return None
    # `say` is also the spoken line of a queue or transfer node, so it names the
    # kind only when no other kind key is present.
    kinds = [k for k in KINDS if k in raw and k != "say"] or (["say"] if "say" in raw else [])
    if len(kinds) != 1:
        c.bad(path, f"a node needs exactly one kind ({', '.join(KINDS)}); found {', '.join(kinds) or 'none'}")
        return None
    kind = kinds[0]
    allowed = {kind} | NODE_KEYS[kind] | COMMON_NODE_KEYS | ({"say"} if kind in ("queue", "transfer") else set())
    c.keys(raw, path, allowed)
    fields: dict = {"name": name, "kind": kind,
                    "language": c.text(raw.get("language"), f"{path}.language", flow_lang),
                    "voice": c.text(raw.get("voice"), f"{path}.voice", flow_voice)}
    if kind in ("say", "gather", "voicemail"):
        fields["text"] = c.text(raw[kind], f"{path}.{kind}", required=True)
    if kind == "say":
        fields["next"] = raw.get("next")
    elif kind == "gather":
        options = c.mapping(raw.get("options"), f"{path}.options", required=True)
        if not options:
            c.bad(f"{path}.options", "a gather needs at least one option")
        fields["options"] = {str(k): v for k, v in options.items()}
        for key in fields["options"]:
            if not (re.fullmatch(r"[0-9*#]+", key) or re.search(r"\w", key)):
                c.bad(f"{path}.options.{key}", "an option is DTMF keys (0-9, *, #) or spoken words")
        fields["retries"] = c.integer(raw.get("retries"), f"{path}.retries", 2, 0, 10)
        fields["on_fail"] = raw.get("on_fail")
        fields["sorry"] = c.text(raw.get("sorry"), f"{path}.sorry", Node.sorry)
        fields["timeout"] = c.integer(raw.get("timeout"), f"{path}.timeout", 5, 1, 60)
        fields["input"] = raw.get("input", "dtmf speech")
        if fields["input"] not in ("dtmf", "speech", "dtmf speech", "speech dtmf"):
            c.bad(f"{path}.input", "must be dtmf, speech or \"dtmf speech\"")
    elif kind == "hours":
        fields["hours"] = raw["hours"]
        if raw["hours"] not in cc["hours"]:
            c.bad(f"{path}.hours", f"unknown hours {raw['hours']!r} (declared: {', '.join(cc['hours']) or 'none'})")
        for branch in ("open", "closed"):
            fields[branch] = raw.get(branch)
            if not fields[branch]:
                c.bad(f"{path}.{branch}", "is required")
    elif kind == "queue":
        fields["queue"] = raw["queue"]
        if raw["queue"] not in cc["queues"]:
            c.bad(f"{path}.queue", f"unknown queue {raw['queue']!r} (declared: {', '.join(cc['queues']) or 'none'})")
        fields["skills"] = c.skills(raw.get("skills"), f"{path}.skills")
        fields["text"] = c.text(raw.get("say"), f"{path}.say")
    elif kind == "voicemail":
        fields["max_length"] = c.integer(raw.get("max_length"), f"{path}.max_length", 120, 1, 3600)
        fields["transcribe"] = raw.get("transcribe", True)
        if not isinstance(fields["transcribe"], bool):
            c.bad(f"{path}.transcribe", "must be true or false")
        fields["thanks"] = c.text(raw.get("thanks"), f"{path}.thanks", Node.thanks)
    elif kind == "transfer":
        problem = e164_problem(raw["transfer"])
        if problem:
            c.bad(f"{path}.transfer", problem)
        fields["number"] = raw["transfer"]
        if raw.get("caller_id") is not None and (problem := e164_problem(raw["caller_id"])):
            c.bad(f"{path}.caller_id", problem)
        fields["caller_id"] = raw.get("caller_id")
        fields["timeout"] = c.integer(raw.get("timeout"), f"{path}.timeout", 30, 5, 600)
        fields["on_fail"] = raw.get("on_fail")
        fields["text"] = c.text(raw.get("say"), f"{path}.say")
    elif kind == "hangup":
        words = raw["hangup"]
        fields["text"] = None if words in (None, True) else c.text(words, f"{path}.hangup")
    return Node(**fields)


def _flow(c: _Checker, name: str, raw, cc: dict, queues: dict[str, Queue]) -> Flow | None:
    path = f"flows.{name}"
    raw = c.mapping(raw, path, required=True)
    c.keys(raw, path, {"start", "nodes", "language", "voice"})
    lang = c.text(raw.get("language"), f"{path}.language", cc["language"])
    voice = c.text(raw.get("voice"), f"{path}.voice", cc["voice"])
    nodes: dict[str, Node] = {}
    declared = c.mapping(raw.get("nodes"), f"{path}.nodes", required=True)
    for node_name, node_raw in declared.items():
        if c.name(node_name, f"{path}.nodes.{node_name}"):
            node = _node(c, f"{path}.nodes.{node_name}", node_name, node_raw, cc, lang, voice)
            if node:
                nodes[node_name] = node
    start = raw.get("start")
    if start not in nodes:
        if start not in declared:   # a declared but broken start node is reported already
            c.bad(f"{path}.start", f"unknown node {start!r}" if start else "is required")
        return None
    graph: dict[str, list[str]] = {}
    for node in nodes.values():
        targets = []
        for field_path, target in node.edges():
            if target not in declared:
                c.bad(f"{path}.nodes.{node.name}.{field_path}", f"unknown node {target!r}")
            elif target in nodes:
                targets.append(target)
        if node.kind == "queue" and node.queue in queues and queues[node.queue].overflow:
            overflow = queues[node.queue].overflow
            if overflow not in declared:
                c.bad(f"queues.{node.queue}.overflow", f"unknown node {overflow!r} in flow {name!r}, "
                      f"which queues callers at {path}.nodes.{node.name}")
            elif overflow in nodes:
                targets.append(overflow)
        graph[node.name] = targets
    seen, todo = set(), [start]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(graph.get(current, []))
    for node_name in nodes:
        if node_name not in seen:
            c.bad(f"{path}.nodes.{node_name}", f"unreachable from start node {start!r}")
    _check_silent_loops(c, path, nodes)
    uses_contact = any(placeholders.used(t) for n in nodes.values() for t in (n.text, n.sorry, n.thanks) if t)
    return Flow(name=name, start=start, nodes=nodes, uses_contact=uses_contact)


def _check_silent_loops(c: _Checker, path: str, nodes: dict[str, Node]) -> None:
    """say/hours nodes run without waiting for the caller: a cycle of them never ends."""
    def silent_next(node: Node) -> list[str]:
        if node.kind == "say":
            return [node.next] if node.next in nodes else []
        if node.kind == "hours":
            return [t for t in (node.open, node.closed) if t in nodes]
        return []

    state: dict[str, int] = {}   # 1 = on the current path, 2 = done

    def visit(name: str, trail: list[str]) -> bool:
        state[name] = 1
        for target in silent_next(nodes[name]):
            if state.get(target) == 1:
                cycle = trail[trail.index(target):] + [target] if target in trail else [name, target]
                c.bad(f"{path}.nodes.{target}", "loops back to itself without waiting for the caller: "
                      + " -> ".join(cycle))
                return True
            if state.get(target) is None and visit(target, trail + [target]):
                return True
        state[name] = 2
        return False

    for name in nodes:
        if state.get(name) is None and visit(name, [name]):
            return


def _contacts(c: _Checker, raw) -> tuple[dict, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        c.bad("contacts", "must be a list")
        return ()
    out, owners = [], {}
    for i, item in enumerate(raw):
        path = f"contacts.{i}"
        item = c.mapping(item, path, required=True)
        c.keys(item, path, {"phone", "phones", "name", "company", "account_value", "tier", "notes", "tags"})
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
        out.append(dict(item))
    return tuple(out)


def _agents(c: _Checker, raw, default_tz: str) -> tuple[dict, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        c.bad("agents", "must be a list")
        return ()
    out, ids = [], set()
    for i, item in enumerate(raw):
        path = f"agents.{i}"
        item = c.mapping(item, path, required=True)
        c.keys(item, path, {"id", "name", "skills", "timezone", "schedule", "languages"})
        if c.name(item.get("id"), f"{path}.id"):
            if item["id"] in ids:
                c.bad(f"{path}.id", f"duplicate agent id {item['id']!r}")
            ids.add(item["id"])
        c.text(item.get("name"), f"{path}.name", required=True)
        tz = c.timezone(item.get("timezone"), f"{path}.timezone", default_tz)
        if item.get("schedule") is not None:
            c.schedule(item["schedule"], tz, None, path, weekly_key="schedule")
        languages = item.get("languages") or []
        if not isinstance(languages, list) or not all(isinstance(x, str) for x in languages):
            c.bad(f"{path}.languages", "must be a list of language codes")
        out.append({**item, "skills": c.skills(item.get("skills"), f"{path}.skills"), "timezone": tz})
    return tuple(out)


def parse_config(data, file: str = "<config>") -> ContactCenter:
    c = _Checker()
    data = c.mapping(data, "", required=True)
    c.keys(data, "", {"workspace", "timezone", "language", "voice", "hours", "queues", "agents",
                         "contacts", "numbers", "flows"})
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
    queues = {name: _queue(c, name, raw, cc["hours"])
              for name, raw in c.mapping(data.get("queues"), "queues").items() if c.name(name, f"queues.{name}")}
    cc["queues"] = queues
    flows_raw = c.mapping(data.get("flows"), "flows", required=True)
    if not flows_raw:
        c.bad("flows", "at least one flow is required")
    flows = {}
    for name, raw in flows_raw.items():
        if c.name(name, f"flows.{name}") and (flow := _flow(c, name, raw, cc, queues)):
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
    contacts = _contacts(c, data.get("contacts"))
    if c.problems:
        raise ConfigError(file, c.problems)
    return ContactCenter(path=file, workspace=workspace, timezone=tz, hours=hours, queues=queues, flows=flows,
                         numbers=numbers, agents=agents, contacts=contacts)


def load_config(path) -> ContactCenter:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [("", f"cannot read: {exc.strerror or exc}")])
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), [("", f"not UTF-8 text: {exc}")])
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise ConfigError(str(path), [(where, f"not valid YAML: {getattr(exc, 'problem', None) or exc}")])
    return parse_config(data, str(path))
