"""Routing rules' conditions (../shared/CONTRACT.md v3 "Routing rules"): expressions in Google's
Common Expression Language (the `common-expression-language` package: the Rust `cel` interpreter),
compiled once per config and checked as the rest of the config is, with the path of every problem.

CEL cannot loop or reach anything but the attributes it is given; what is left to bound is work:
an expression is at most MAX_CHARS long and holds at most MAX_MACROS list comprehensions (`map`,
`filter`, `all`, `exists`), so nesting them over long literal lists cannot multiply its cost.

The check compiles the expression (syntax, with line and column), refuses names other than the
five attributes, and evaluates it against typed sample contexts — every attribute present, the
true/false ones each way — so that a type mistake (`caller.region > 5`) or an unknown member
(`caller.regoin`) is reported at load. A branch that every sample short-circuits is not reached
by the check; at run time a failing rule is taken as not firing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import cel

MAX_CHARS = 500
MAX_MACROS = 2
_MACRO = re.compile(r"\.\s*(map|filter|all|exists|exists_one)\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)?")
ATTRIBUTES = ("caller", "contact", "call", "now", "queues")
QUEUE_FIGURES = {"waiting": 3, "longest_wait_s": 42.0, "available": 1, "logged_in": 4, "estimated_wait_s": 30.0}


FIELD_SAMPLES = {"text": "sample", "number": 1.0, "bool": True, "list": ["sample"]}


def field_samples(contact_fields: dict[str, str]) -> dict:
    """A sample value of each declared custom CRM field, of its type (config `contact_fields`)."""
    return {name: FIELD_SAMPLES[kind] for name, kind in contact_fields.items()}


def samples(queues: tuple[str, ...], contact_fields: dict | None = None) -> list[dict]:
    """Typed contexts with every attribute: one with the true/false attributes true, one false."""
    out = []
    for flag in (True, False):
        out.append({
            "caller": {"e164": "+34912345678", "region": "ES", "local_hour": 10},
            "contact": {"name": "Sample Caller", "company": "Sample Co", "tier": "gold", "account_value": 1000.0,
                        "tags": ["sample"], "csat_avg": 4.5, **(contact_fields or {})},
            "call": {"language": "en-US", "repeat_caller": flag, "calls_today": 1, "choices": ["menu"]},
            "now": {"weekday": "mon", "hour": 10, "minute": 30, "holiday": flag},
            "queues": {name: dict(QUEUE_FIGURES) for name in queues},
        })
    return out


def problem_of(expression, queues: tuple[str, ...], contact_fields: dict | None = None) -> str | None:
    """Why `expression` cannot be a rule's condition, or None."""
    if not isinstance(expression, str) or not expression.strip():
        return "must be an expression (text)"
    if len(expression) > MAX_CHARS:
        return f"is longer than {MAX_CHARS} characters"
    if len(_MACRO.findall(expression)) > MAX_MACROS:
        return f"holds more than {MAX_MACROS} list comprehensions (map, filter, all, exists)"
    try:
        program = cel.compile(expression)
    except ValueError as exc:
        return f"syntax: {_first_line(exc)}"
    bound = {name for _, name in _MACRO.findall(expression) if name}        # a comprehension's own variable
    unknown = sorted(set(program.variables()) - set(ATTRIBUTES) - bound)
    if unknown:
        return f"unknown attribute {unknown[0]!r} (known: {', '.join(ATTRIBUTES)})"
    for context in samples(queues, contact_fields):
        try:
            value = program.execute(context)
        except KeyError as exc:
            return _unknown_member(expression, str(exc.args[0]), queues)
        except (TypeError, ValueError) as exc:
            return f"type mistake: {_first_line(exc)}"
        except Exception as exc:  # noqa: BLE001 - anything else the interpreter refuses (division by zero, ...)
            return f"cannot be evaluated: {_first_line(exc)}"
        if not isinstance(value, bool):
            return f"must be true or false, not {type(value).__name__} ({value!r})"
    return None


@lru_cache(maxsize=4096)
def compiled(expression: str) -> tuple:
    """(program, the attributes it reads) of a checked expression: compiled once per text, so once
    per config version whatever the number of calls (the cache outlives a config change, and a
    text that did not change is not compiled again)."""
    program = cel.compile(expression)
    return program, tuple(name for name in ATTRIBUTES if name in set(program.variables()))


def reads(expression: str) -> tuple[str, ...]:
    """The attributes (caller, contact, call, now, queues) an expression reads."""
    return compiled(expression)[1]


def environment(expressions, context: dict) -> "cel.Context":
    """The interpreter's environment for evaluating `expressions` on `context`: the attributes they
    read, converted once (a conversion costs tens of microseconds; a run on a converted environment
    well under one), so that a node's rules share it."""
    names = {name for expression in expressions for name in compiled(expression)[1]}
    return cel.Context(variables={name: context[name] for name in names if name in context})


def holds(expression: str, context) -> bool:
    """Whether the condition holds for `context` (a dict of attributes, or an `environment` of
    them); an error (a missing field of an unknown caller's contact, a division by zero) is false."""
    program = compiled(expression)[0]
    try:
        return program.execute(context if isinstance(context, cel.Context)
                               else environment((expression,), context)) is True
    except Exception:  # noqa: BLE001 - a rule that cannot be evaluated does not fire
        return False


def why_not(expression: str, context: dict) -> str | None:
    """What made a rule fail to evaluate (for `flask rules test`), or None when it evaluated."""
    try:
        compiled(expression)[0].execute(environment((expression,), context))
    except Exception as exc:  # noqa: BLE001 - shown to the person testing the rule
        return _first_line(exc)
    return None


def first_holding(conditions, context: dict) -> int | None:
    """The index of the first condition that holds, or None (the route's else)."""
    env = environment(conditions, context)
    for i, expression in enumerate(conditions):
        if holds(expression, env):
            return i
    return None


@dataclass(frozen=True)
class Held:
    """What a queue's rules that hold give a joining caller."""
    rules: tuple[int, ...] = ()          # their indexes
    priority: int = 0                    # the points they add
    skills: dict = field(default_factory=dict)    # the skills they raise: the highest level each names
    strategy: str | None = None          # the last one's that names a strategy


def queue_rules_held(queue_rules, context: dict) -> Held:
    """Which of a queue's rules hold for `context`, and what together they give."""
    held, bonus, skills, strategy = [], 0, {}, None
    env = environment([rule.when for rule in queue_rules], context)
    for i, rule in enumerate(queue_rules):
        if holds(rule.when, env):
            held.append(i)
            bonus += rule.priority
            strategy = rule.strategy or strategy
            for skill, level in rule.skills.items():
                skills[skill] = max(level, skills.get(skill, 0))
    return Held(tuple(held), bonus, skills, strategy)


def _unknown_member(expression: str, member: str, queues: tuple[str, ...]) -> str:
    if re.search(rf"\bqueues\s*\.\s*{re.escape(member)}\b", expression):
        return f"unknown queue {member!r} (declared: {', '.join(queues) or 'none'})"
    if re.search(rf"\bcontact\s*\.\s*{re.escape(member)}\b", expression):
        return f"unknown contact field {member!r} (custom fields are declared in contact_fields)"
    return f"unknown attribute member {member!r}"


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
