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

import cel

MAX_CHARS = 500
MAX_MACROS = 2
_MACRO = re.compile(r"\.\s*(map|filter|all|exists|exists_one)\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)?")
ATTRIBUTES = ("caller", "contact", "call", "now", "queues")
QUEUE_FIGURES = {"waiting": 3, "longest_wait_s": 42.0, "available": 1, "logged_in": 4, "estimated_wait_s": 30.0}


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
            return f"unknown attribute member {exc.args[0]!r}"
        except (TypeError, ValueError) as exc:
            return f"type mistake: {_first_line(exc)}"
        except Exception as exc:  # noqa: BLE001 - anything else the interpreter refuses (division by zero, ...)
            return f"cannot be evaluated: {_first_line(exc)}"
        if not isinstance(value, bool):
            return f"must be true or false, not {type(value).__name__} ({value!r})"
    return None


def compiled(expression: str):
    """The program of a checked expression (compile once per config, run per call)."""
    return cel.compile(expression)


def holds(program, context: dict) -> bool:
    """Whether the condition holds for `context`; an error (a missing field of an unknown caller's
    contact, a division by zero) is false."""
    try:
        return program.execute(context) is True
    except Exception:  # noqa: BLE001 - a rule that cannot be evaluated does not fire
        return False


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
