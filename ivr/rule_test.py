"""Trying a node's routing rules on a sample caller (`flask rules test`, `POST /api/rules/test`): which
rule fires, where the call goes, and for every rule whether it held, what failed and what it read.

The context is the one the call path builds (ivr/facts.py: the live queues, the caller's calls today,
the CRM contact of the sample's number), then each attribute the sample gives is laid over it, so a
person can ask "what if billing had twelve callers waiting?" without making them wait.
"""
from __future__ import annotations

from datetime import datetime

from contactcenter import rules
from contactcenter.errors import Invalid, NotFound
from contactcenter.model import ContactCenter

from .flow import Call

SAMPLE_SID = "CArulestest00000000000000000000000"
ATTRIBUTES = ("caller", "contact", "call", "now", "queues")


def explain(cc: ContactCenter, facts, now: datetime, *, flow: str = "", node: str = "", queue: str = "",
            sample: dict | None = None) -> dict:
    """A `route` node's rules (flow and node; the flow of the sample's `to` number when no flow is
    named) or a queue's rules (queue), evaluated for `sample` ({from, to, country, language, caller,
    contact, call, now, queues}: the last five override what is read)."""
    sample = sample or {}
    conditions, targets, otherwise, where = _rules_of(cc, flow, node, queue, sample.get("to") or "")
    call = Call(SAMPLE_SID, sample.get("from") or "+15005550000", sample.get("to") or "", where[0], now,
                country=sample.get("country"), language=sample.get("language"), facts=facts)
    context = _overlaid(call.context(conditions), sample)
    results = []
    for i, expression in enumerate(conditions):
        error = rules.why_not(expression, context)
        held = error is None and rules.holds(expression, context)
        results.append({"rule": i, "when": expression, "then": targets[i], "holds": held, "error": error,
                        "reads": {name: context.get(name) for name in rules.reads(expression)}})
    fired = next((r["rule"] for r in results if r["holds"]), None)
    out = {"flow": where[0].name if queue == "" else None, "node": where[1], "queue": queue or None,
           "context": context, "rules": results, "fired": fired}
    if queue:
        held = [r["rule"] for r in results if r["holds"]]
        given = rules.queue_rules_held(cc.queues[queue].rules, context)
        out.update(fired=held or None, priority=given.priority, skills=given.skills, strategy=given.strategy)
    else:
        out["next"] = otherwise if fired is None else targets[fired]
    return out


def _rules_of(cc: ContactCenter, flow: str, node: str, queue: str, to: str):
    if queue:
        if queue not in cc.queues:
            raise NotFound(f"no queue {queue!r} (queues: {', '.join(cc.queues)})")
        found = cc.queues[queue].rules
        if not found:
            raise Invalid(f"queue {queue!r} has no rules")
        return ([r.when for r in found], [{"priority": r.priority, "skills": r.skills, "strategy": r.strategy}
                                          for r in found], None,
                (cc.flow_for(to), ""))
    chosen = cc.flows.get(flow) if flow else cc.flow_for(to)
    if chosen is None:
        raise NotFound(f"no flow {flow!r} (flows: {', '.join(cc.flows)})")
    routes = [n for n in chosen.nodes.values() if n.kind == "route"]
    target = chosen.nodes.get(node) if node else (routes[0] if len(routes) == 1 else None)
    if target is None or target.kind != "route":
        names = ", ".join(n.name for n in routes) or "none"
        raise (NotFound if node and target is None else Invalid)(
            f"name a route node of flow {chosen.name!r} (route nodes: {names})")
    return [w for w, _ in target.rules], [t for _, t in target.rules], target.otherwise, (chosen, target.name)


def _overlaid(context: dict, sample: dict) -> dict:
    """The read context with the sample's attributes laid over it, member by member (a queue's
    figures one by one: `{"queues": {"billing": {"waiting": 12}}}` keeps billing's other figures)."""
    out = {name: dict(context.get(name) or {}) for name in ATTRIBUTES}
    for name in ATTRIBUTES:
        given = sample.get(name)
        if given is None:
            continue
        if not isinstance(given, dict):
            raise Invalid(f"{name}: must be an object")
        for key, value in given.items():
            if name == "queues" and isinstance(value, dict):
                out["queues"][key] = {**(out["queues"].get(key) or {}), **value}
            else:
                out[name][key] = value
    return out
