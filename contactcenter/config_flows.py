"""Validation of `flows:`: nodes of each kind, references, reachability, silent loops."""
from __future__ import annotations

import re

from . import config_rules, placeholders
from . import config_speech as speech_config
from .checker import Checker, e164_problem
from .model import KINDS, Flow, Node, Queue

COMMON_NODE_KEYS = {"language", "voice", "label"}
NODE_KEYS = {
    "say": {"next"},
    "gather": {"options", "retries", "on_fail", "sorry", "timeout", "input", "examples", "confirm"},
    "hours": {"open", "closed"},
    "queue": {"skills"},
    "callback": {"skills"},
    "voicemail": {"max_length", "transcribe", "thanks"},
    "transfer": {"timeout", "caller_id", "on_fail"},
    "hangup": set(),
    "languages": {"next", "retries", "sorry", "timeout"},
    "route": {"else"},
}


def parse_node(c: Checker, path: str, name: str, raw, cc: dict, flow_lang: str, flow_voice) -> Node | None:
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
    says = {"say"} if kind in ("queue", "callback", "transfer") else set()
    allowed = {kind} | NODE_KEYS[kind] | COMMON_NODE_KEYS | says
    c.keys(raw, path, allowed)
    fields: dict = {"name": name, "kind": kind,
                    "language": c.text(raw.get("language"), f"{path}.language", flow_lang),
                    "voice": c.text(raw.get("voice"), f"{path}.voice", flow_voice),
                    "label": speech_config.words_per_language(c, raw.get("label"), f"{path}.label")}
    if raw.get("language") is not None and (problem := speech_config.language_problem(raw["language"])):
        c.bad(f"{path}.language", problem)
    texts: dict[str, dict[str, str]] = {}

    def words(value, where: str, name: str, default=None, required: bool = False):
        text, others = speech_config.localized(c, value, where, fields["language"] or "en", required)
        if others:
            texts[name] = others
        return default if text is None else text

    if kind in ("say", "gather", "voicemail"):
        fields["text"] = words(raw[kind], f"{path}.{kind}", "text", required=True)
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
        fields["sorry"] = words(raw.get("sorry"), f"{path}.sorry", "sorry", Node.sorry)
        fields["timeout"] = c.integer(raw.get("timeout"), f"{path}.timeout", 5, 1, 60)
        fields["input"] = raw.get("input", "dtmf speech")
        fields["examples"] = speech_config.examples(c, raw.get("examples"), f"{path}.examples")
        fields["confirm"] = speech_config.words_per_language(c, raw.get("confirm"), f"{path}.confirm", ("choice",))
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
    elif kind in ("queue", "callback"):
        fields["queue"] = raw[kind]
        if raw[kind] not in cc["queues"]:
            c.bad(f"{path}.{kind}", f"unknown queue {raw[kind]!r} (declared: {', '.join(cc['queues']) or 'none'})")
        elif kind == "callback" and isinstance(cc["queues"][raw[kind]], Queue) \
                and not cc["queues"][raw[kind]].callback:
            c.bad(f"{path}.callback", f"queue {raw[kind]!r} does not take callbacks (callback: false)")
        fields["skills"] = c.skills(raw.get("skills"), f"{path}.skills")
        fields["text"] = words(raw.get("say"), f"{path}.say", "text")
    elif kind == "voicemail":
        fields["max_length"] = c.integer(raw.get("max_length"), f"{path}.max_length", 120, 1, 3600)
        fields["transcribe"] = raw.get("transcribe", True)
        if not isinstance(fields["transcribe"], bool):
            c.bad(f"{path}.transcribe", "must be true or false")
        fields["thanks"] = words(raw.get("thanks"), f"{path}.thanks", "thanks", Node.thanks)
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
        fields["text"] = words(raw.get("say"), f"{path}.say", "text")
    elif kind == "hangup":
        said = raw["hangup"]
        fields["text"] = None if said in (None, True) else words(said, f"{path}.hangup", "text")
    elif kind == "languages":
        fields["choices"] = speech_config.language_choices(c, raw["languages"], f"{path}.languages")
        fields["next"] = raw.get("next")
        if not fields["next"]:
            c.bad(f"{path}.next", "is required")
        fields["retries"] = c.integer(raw.get("retries"), f"{path}.retries", 2, 0, 10)
        fields["sorry"] = words(raw.get("sorry"), f"{path}.sorry", "sorry", Node.sorry)
        fields["timeout"] = c.integer(raw.get("timeout"), f"{path}.timeout", 5, 1, 60)
    elif kind == "route":
        fields["rules"], fields["otherwise"] = config_rules.route(c, raw, path, cc)
    return Node(**fields, texts=texts)


def parse_flow(c: Checker, name: str, raw, cc: dict, queues: dict[str, Queue]) -> Flow | None:
    path = f"flows.{name}"
    raw = c.mapping(raw, path, required=True)
    c.keys(raw, path, {"start", "nodes", "language", "voice"})
    lang = c.text(raw.get("language"), f"{path}.language", cc["language"])
    voice = c.text(raw.get("voice"), f"{path}.voice", cc["voice"])
    nodes: dict[str, Node] = {}
    declared = c.mapping(raw.get("nodes"), f"{path}.nodes", required=True)
    for node_name, node_raw in declared.items():
        if c.name(node_name, f"{path}.nodes.{node_name}"):
            node = parse_node(c, f"{path}.nodes.{node_name}", node_name, node_raw, cc, lang, voice)
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
        if node.kind in ("queue", "callback") and node.queue in queues and queues[node.queue].overflow:
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
    routes = any(n.kind == "route" for n in nodes.values())
    return Flow(name=name, start=start, nodes=nodes, uses_contact=uses_contact, routes=routes)


def _check_silent_loops(c: Checker, path: str, nodes: dict[str, Node]) -> None:
    """say/hours/route nodes run without waiting for the caller: a cycle of them never ends."""
    def silent_next(node: Node) -> list[str]:
        if node.kind == "say":
            return [node.next] if node.next in nodes else []
        if node.kind == "hours":
            return [t for t in (node.open, node.closed) if t in nodes]
        if node.kind == "route":
            return [t for _, t in node.edges() if t in nodes]
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
