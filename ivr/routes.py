"""Route nodes on the call path: which rule of a route node fires for a call (decided once per turn,
on the context ivr/facts.py reads), and which rules the route nodes before the caller must act take —
what, besides the minute, decides the document `ivr.flow.enter` remembers."""
from __future__ import annotations

from contactcenter import rules
from contactcenter.model import ContactCenter, Node

MAX_HOPS = 50            # as ivr/flow.py: validation forbids silent loops


def taken(cc: ContactCenter, call, name: str) -> tuple:     # call: an ivr.flow.Call (which imports this)
    """The rules the route nodes on the silent way from `name` take for this call (the say, hours
    and route nodes before the caller must act): what besides the minute decides the document."""
    out = []
    for _ in range(MAX_HOPS):
        node = call.flow.nodes.get(name)
        if node is None or node.kind not in ("say", "hours", "route") or (node.kind == "say" and not node.next):
            break
        if node.kind == "route":
            rule = decide(call, node)
            out.append(rule)
            name = node.otherwise if rule is None else node.rules[rule][1]
        else:
            name = node.next if node.kind == "say" else \
                node.open if cc.hours[node.hours].is_open(call.now) else node.closed
    return tuple(out)


def decide(call, node: Node) -> int | None:
    """The rule of a route node that fires for this call (None: the else), decided once per turn."""
    if node.name not in call.routed:
        conditions = [when for when, _ in node.rules]
        call.routed[node.name] = rules.first_holding(conditions, call.context(conditions))
    return call.routed[node.name]
