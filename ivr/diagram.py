"""A picture of an IVR flow, drawn from the config: one box per node (its kind and what it says or
does), an arrow for every way on (the menu's choices labelled with their keys and words, `next`,
`open`/`closed`, `on_fail`, a queue's overflow), and, when given, today's count of callers through
each node and of those who hung up there. Pure: the flow in, SVG text out (every text escaped).

Layout: rows by the shortest path from the start (the start on top), boxes in the order they are
reached; an arrow along a row runs under the boxes, one back up bends round the right side.
"""
from __future__ import annotations

from collections import deque
from xml.sax.saxutils import escape

from contactcenter.model import ContactCenter, Flow, Node

BOX_W, BOX_H, GAP_X, GAP_Y, MARGIN = 200, 66, 36, 74, 24
KIND_WORDS = {"say": "Say", "gather": "Menu", "hours": "Opening hours", "queue": "Queue", "voicemail": "Voicemail",
              "callback": "Callback", "transfer": "Transfer", "hangup": "Hang up"}


def edges(node: Node, cc: ContactCenter) -> list[tuple[str, str]]:
    """(label, target) of every way on from `node`; a menu's keys to one target share one label."""
    grouped: dict[str, list[str]] = {}
    for field, target in node.edges():
        if field.startswith("examples."):        # said in the caller's own words: an arrow of its own only
            if target not in grouped:            # where no key or keyword leads there already
                grouped[target] = ["said"]
            continue
        label = field.split(".", 1)[1] if field.startswith("options.") else field.replace("_", " ")
        grouped.setdefault(target, []).append(label)
    if node.kind == "queue" and node.queue in cc.queues and cc.queues[node.queue].overflow:
        grouped.setdefault(cc.queues[node.queue].overflow, []).append("overflow")
    return [(" / ".join(labels), target) for target, labels in grouped.items()]


def layout(flow: Flow, cc: ContactCenter) -> dict[str, tuple[int, int]]:
    """node -> (row, column): rows by distance from the start, unreachable nodes in a last row."""
    depth = {flow.start: 0}
    order = [flow.start]
    todo = deque([flow.start])
    while todo:
        name = todo.popleft()
        node = flow.nodes.get(name)
        for _, target in edges(node, cc) if node else []:
            if target in flow.nodes and target not in depth:
                depth[target] = depth[name] + 1
                order.append(target)
                todo.append(target)
    last = max(depth.values(), default=0) + 1
    for name in flow.nodes:
        if name not in depth:
            depth[name] = last
            order.append(name)
    placed: dict[str, tuple[int, int]] = {}
    columns: dict[int, int] = {}
    for name in order:
        row = depth[name]
        placed[name] = (row, columns.get(row, 0))
        columns[row] = columns.get(row, 0) + 1
    return placed


def _attr(value: str) -> str:
    return escape(value, {'"': "&quot;"})


def _summary(node: Node) -> str:
    text = node.text or ""
    if node.kind == "queue":
        text = f"{node.queue}" + (f": {node.text}" if node.text else "")
    elif node.kind == "hours":
        text = node.hours or ""
    elif node.kind == "transfer":
        text = node.number or ""
    elif node.kind == "callback":
        text = f"for {node.queue}"
    return text if len(text) <= 30 else text[:29] + "…"


def svg(flow: Flow, cc: ContactCenter, counts: dict[str, dict[str, int]] | None = None) -> str:
    """The flow as an SVG picture; `counts`: node -> {"callers", "hung_up"} (today's)."""
    counts = counts or {}
    at = layout(flow, cc)
    width = MARGIN * 2 + max(c for _, c in at.values()) * (BOX_W + GAP_X) + BOX_W
    # (room under the last row for arrows along it)
    height = MARGIN * 2 + max(r for r, _ in at.values()) * (BOX_H + GAP_Y) + BOX_H + round(GAP_Y * 0.6)
    incoming: dict[str, int] = {}            # labels already put above a node: the next goes higher

    def box(name: str) -> tuple[float, float]:
        row, col = at[name]
        return MARGIN + col * (BOX_W + GAP_X), MARGIN + row * (BOX_H + GAP_Y)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="flow-picture" role="img" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" aria-label="{_attr(flow.name)} flow">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#475467"/></marker></defs>']
    for name, node in flow.nodes.items():
        x, y = box(name)
        for label, target in edges(node, cc):
            if target not in at:
                continue
            tx, ty = box(target)
            if at[target][0] > at[name][0]:      # down: the label just above the target
                x1, y1, x2, y2 = x + BOX_W / 2, y + BOX_H, tx + BOX_W / 2, ty
                path = f"M{x1},{y1} C{x1},{y1 + GAP_Y / 2} {x2},{y2 - GAP_Y / 2} {x2},{y2}"
                lx, ly = x2 + 2, y2 - 8 - 12 * incoming.get(target, 0)
                incoming[target] = incoming.get(target, 0) + 1
            elif at[target][0] == at[name][0]:   # along the row: under the boxes
                x1, y1, x2, y2 = x + BOX_W / 2, y + BOX_H, tx + BOX_W / 2, ty + BOX_H
                dip = y1 + GAP_Y * 0.55
                path = f"M{x1},{y1} C{x1},{dip} {x2},{dip} {x2},{y2}"
                lx, ly = (x1 + x2) / 2, dip - 4
            else:                                # back up: round the right side
                x1, y1, x2, y2 = x + BOX_W, y + BOX_H / 2, tx + BOX_W, ty + BOX_H / 2
                bend = max(x1, x2) + GAP_X * 0.8
                path = f"M{x1},{y1} C{bend},{y1} {bend},{y2} {x2},{y2}"
                lx, ly = bend, (y1 + y2) / 2
            parts.append(f'<path class="edge" data-from="{_attr(name)}" data-to="{_attr(target)}" d="{path}" '
                         'fill="none" stroke="#475467" stroke-width="1.4" marker-end="url(#arrow)"/>')
            parts.append(f'<text class="edge-label" x="{lx + 4:.0f}" y="{ly:.0f}" font-size="11" fill="#344054">'
                         f'{escape(label)}</text>')
    for name, node in flow.nodes.items():
        x, y = box(name)
        seen = counts.get(name, {})
        start = name == flow.start
        parts.append(f'<g class="node" data-node="{_attr(name)}" data-kind="{_attr(node.kind)}" '
                     f'data-callers="{seen.get("callers", 0)}" data-hung-up="{seen.get("hung_up", 0)}">')
        parts.append(f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8" fill="#ffffff" '
                     f'stroke="{"#1d4ed8" if start else "#98a2b3"}" stroke-width="{2 if start else 1.2}"/>')
        parts.append(f'<text x="{x + 10}" y="{y + 18}" font-size="13" font-weight="600" fill="#101828">'
                     f'{escape(name)}</text>')
        parts.append(f'<text x="{x + BOX_W - 10}" y="{y + 18}" font-size="11" text-anchor="end" fill="#475467">'
                     f'{escape(KIND_WORDS.get(node.kind, node.kind))}</text>')
        parts.append(f'<text x="{x + 10}" y="{y + 36}" font-size="11" fill="#344054">{escape(_summary(node))}</text>')
        today = f'{seen.get("callers", 0)} today'
        hung = f' · {seen["hung_up"]} hung up here' if seen.get("hung_up") else ""
        parts.append(f'<text x="{x + 10}" y="{y + 55}" font-size="11" fill="#067647">{escape(today)}'
                     f'<tspan fill="#b42318">{escape(hung)}</tspan></text>')
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)
