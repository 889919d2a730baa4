"""Routing rules' conditions (contactcenter/rules.py, CEL): the checker refuses syntax errors,
unknown attributes and members, type mistakes, non-boolean results and expressions too big to be
cheap, each with a reason; a checked condition is fast, and one that fails at run time (an unknown
caller's empty contact) does not fire."""
from __future__ import annotations

import time

import pytest

from contactcenter.rules import compiled, holds, problem_of

QUEUES = ("billing", "tech")
CONTEXT = {"caller": {"e164": "+34912345678", "region": "ES", "local_hour": 18},
           "contact": {"name": "Lucía", "tier": "vip", "account_value": 150000.0, "tags": ["renewal"]},
           "call": {"language": "es-ES", "repeat_caller": True, "calls_today": 2, "choices": ["menu"]},
           "now": {"weekday": "sat", "hour": 18, "minute": 5, "holiday": False},
           "queues": {"billing": {"waiting": 7, "longest_wait_s": 150.0, "available": 0, "logged_in": 3,
                                  "estimated_wait_s": 240.0}}}


@pytest.mark.parametrize("expression", [
    "contact.account_value >= 100000.0",
    'caller.region == "ES"',
    "call.repeat_caller && call.calls_today >= 2",
    "queues.billing.waiting > 5 && queues.billing.longest_wait_s > 120.0",
    "now.holiday || now.weekday in ['sat', 'sun']",
    "has(contact.tier) && contact.tier == 'vip'",
    "contact.tags.exists(t, t == 'renewal')",
    "contact.account_value >= 100000",                          # numbers compare across int and double
])
def test_conditions_a_contact_center_writes_are_accepted_and_hold(expression):
    assert problem_of(expression, QUEUES) is None
    assert holds(expression, CONTEXT) is True


@pytest.mark.parametrize("expression, reason", [
    ("contact.account_value >= ", "syntax:"),
    ("customer.tier == 'vip'", "unknown attribute 'customer'"),
    ("caller.regoin == 'ES'", "unknown attribute member 'regoin'"),
    ("caller.region > 5", "type mistake"),
    ("queues.billing.waiting + 1", "must be true or false, not int"),
    ("'x' * 3 == 'xxx'", "type mistake"),
    ("x" * 600, "longer than 500"),
    ("[1,2].map(a, [1,2].map(b, [1,2].map(c, a*b*c))).size() > 0", "more than 2 list comprehensions"),
    ("", "must be an expression"),
    (42, "must be an expression"),
])
def test_bad_conditions_are_refused_with_a_reason(expression, reason):
    found = problem_of(expression, QUEUES)
    assert found is not None and reason in found, found


def test_a_condition_that_fails_at_run_time_does_not_fire():
    assert holds("contact.tier == 'vip'", {**CONTEXT, "contact": {}}) is False   # an unknown caller: no contact
    assert holds("has(contact.tier)", {**CONTEXT, "contact": {}}) is False
    assert holds("now.hour / 0 == 1", CONTEXT) is False


def test_hostile_expressions_cannot_reach_python_or_run_long():
    for expression in ("__import__('os').system('true')", "caller.__class__", "open('/etc/passwd')"):
        assert problem_of(expression, QUEUES) is not None, expression
    widest = "[0,1,2,3,4,5,6,7,8,9].map(a, [0,1,2,3,4,5,6,7,8,9].map(b, a * b)).size() > 0"
    assert problem_of(widest, QUEUES) is None
    started = time.perf_counter()
    assert holds(widest, CONTEXT) is True
    assert time.perf_counter() - started < 0.05


def test_a_checked_condition_is_evaluated_in_microseconds():
    expression = "contact.account_value >= 100000.0 && caller.region == 'ES' && !now.holiday"
    assert compiled(expression)[1] == ("caller", "contact", "now")       # only what it reads is converted
    started = time.perf_counter()
    for _ in range(1000):
        holds(expression, CONTEXT)
    assert (time.perf_counter() - started) / 1000 < 0.001                 # under 1 ms each, with room
