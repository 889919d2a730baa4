"""Validation of what routing rules read and decide: the CRM's custom fields (`contact_fields`, and
each contact's `fields`), a flow's `route` node and a queue's `rules` — every condition checked by
contactcenter/rules.py against the queues and fields this config declares, with its path."""
from __future__ import annotations

import re

from . import rules
from .checker import Checker
from .model import STRATEGIES, QueueRule

FIELD_TYPES = ("text", "number", "bool", "list")
BUILT_IN_FIELDS = frozenset({"id", "name", "first_name", "last_name", "company", "tier", "account_value",
                             "notes", "tags", "csat_avg"})
FIELD_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")
MAX_RULES = 50            # per route node or queue: what a person can still read as one decision
MAX_FIELDS = 50


def contact_fields(c: Checker, raw) -> dict[str, str]:
    """`contact_fields: {plan: text, seats: number}`: the CRM's custom fields rules may read."""
    out: dict[str, str] = {}
    declared = c.mapping(raw, "contact_fields")
    if len(declared) > MAX_FIELDS:
        c.bad("contact_fields", f"at most {MAX_FIELDS} custom fields")
    for name, kind in declared.items():
        path = f"contact_fields.{name}"
        if not isinstance(name, str) or not FIELD_NAME.match(name):
            c.bad(path, "a field name is lower-case letters, digits and '_' (at most 64)")
        elif name in BUILT_IN_FIELDS:
            c.bad(path, f"{name!r} is a built-in contact field")
        elif kind not in FIELD_TYPES:
            c.bad(path, f"unknown type {kind!r} (one of {', '.join(FIELD_TYPES)})")
        else:
            out[name] = kind
    return out


def field_values(c: Checker, raw, path: str, declared: dict[str, str]) -> dict:
    """A contact's `fields`, each declared in contact_fields and of its type."""
    out = {}
    for name, value in c.mapping(raw, path).items():
        where = f"{path}.{name}"
        kind = declared.get(name)
        if kind is None:
            c.bad(where, f"unknown custom field {name!r} (declared in contact_fields: "
                         f"{', '.join(declared) or 'none'})")
        elif not _of_type(value, kind):
            c.bad(where, f"must be {'a ' if kind != 'text' else ''}{kind}"
                         f"{' of texts, numbers or yes/no' if kind == 'list' else ''}")
        else:
            out[name] = float(value) if kind == "number" else value
    return out


def _of_type(value, kind: str) -> bool:
    scalar = (str, int, float, bool)
    if kind == "text":
        return isinstance(value, str)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    return isinstance(value, list) and all(isinstance(v, scalar) for v in value)


def _condition(c: Checker, raw, path: str, cc: dict) -> str:
    problem = rules.problem_of(raw, tuple(cc["queues"]), rules.field_samples(cc.get("contact_fields", {})))
    if problem:
        c.bad(path, problem)
    return raw if isinstance(raw, str) else ""


def route(c: Checker, raw: dict, path: str, cc: dict) -> tuple[tuple[tuple[str, str], ...], str | None]:
    """A `route` node's rules [(condition, target)] and `else`; targets are checked as edges."""
    items = raw.get("route")
    if not isinstance(items, list) or not items:
        c.bad(f"{path}.route", "must be a list of {when: <expression>, then: <node>}")
        items = []
    if len(items) > MAX_RULES:
        c.bad(f"{path}.route", f"at most {MAX_RULES} rules")
    out = []
    for i, item in enumerate(items[:MAX_RULES]):
        where = f"{path}.route[{i}]"
        item = c.mapping(item, where, required=True)
        c.keys(item, where, {"when", "then"})
        when = _condition(c, item.get("when"), f"{where}.when", cc)
        target = item.get("then")
        if not isinstance(target, str) or not target:
            c.bad(f"{where}.then", "is required: the node a call goes to when the rule holds")
            continue
        out.append((when, target))
    otherwise = raw.get("else")
    if not isinstance(otherwise, str) or not otherwise:
        c.bad(f"{path}.else", "is required: the node a call goes to when no rule holds")
        otherwise = None
    return tuple(out), otherwise


def queue_rules(c: Checker, raw, path: str, cc: dict) -> tuple[QueueRule, ...]:
    """A queue's `rules: [{when, priority: +N, skills: {skill: level}, strategy}]`, applied as a call joins."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        c.bad(path, "must be a list of {when, priority, skills}")
        return ()
    if len(raw) > MAX_RULES:
        c.bad(path, f"at most {MAX_RULES} rules")
    out = []
    for i, item in enumerate(raw[:MAX_RULES]):
        where = f"{path}[{i}]"
        item = c.mapping(item, where, required=True)
        c.keys(item, where, {"when", "priority", "skills", "strategy"})
        when = _condition(c, item.get("when"), f"{where}.when", cc)
        priority = c.integer(item.get("priority"), f"{where}.priority", 0, -1000, 1000)
        skills = c.skills(item.get("skills"), f"{where}.skills")
        strategy = item.get("strategy")
        if strategy is not None and strategy not in STRATEGIES:
            c.bad(f"{where}.strategy", f"unknown strategy {strategy!r} (one of {', '.join(STRATEGIES)})")
            strategy = None
        if not priority and not skills and not strategy and "priority" not in item:
            c.bad(where, "a queue rule raises priority or skills, or chooses a strategy")
        out.append(QueueRule(when=when, priority=priority, skills=skills, strategy=strategy))
    return tuple(out)
