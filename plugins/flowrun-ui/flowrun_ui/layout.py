"""A flow's graph as inline SVG, laid out here (no Graphviz): nodes in layers by their
longest path from a source, left to right; each layer ordered by the mean position of
its neighbours (a few barycentre sweeps), which keeps edges short and few crossing."""
from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

WIDTH, HEIGHT, GAP_X, GAP_Y, PAD = 190, 36, 60, 14, 10
SWEEPS = 4


@dataclass
class Node:
    id: str
    label: str
    status: str = "pending"
    note: str = ""  # e.g. "12 × (10 succeeded, 2 failed)" for a mapped task
    upstream: list[str] = field(default_factory=list)


def layers(nodes: list[Node]) -> list[list[Node]]:
    """Longest-path layering, then barycentre ordering."""
    by_id = {n.id: n for n in nodes}
    depth: dict[str, int] = {}
    for node in nodes:
        _iterative_level(node, by_id, depth)
    grid: list[list[Node]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for node in nodes:
        grid[depth[node.id]].append(node)
    _order(grid, by_id)
    return grid


def _iterative_level(start: Node, by_id: dict[str, Node], depth: dict[str, int]) -> None:
    """Depth of ``start`` without recursion (graphs of thousands of tasks)."""
    stack, active = [start], set()
    while stack:
        node = stack[-1]
        if node.id in depth:
            stack.pop()
            continue
        active.add(node.id)
        todo = [by_id[u] for u in node.upstream
                if u in by_id and u not in depth and u not in active]
        if todo:
            stack.extend(todo)
            continue
        ups = [depth[u] for u in node.upstream if u in depth]
        depth[node.id] = 1 + max(ups, default=-1)
        active.discard(node.id)
        stack.pop()


def _order(grid: list[list[Node]], by_id: dict[str, Node]) -> None:
    down: dict[str, list[str]] = {}
    for node in by_id.values():
        for up in node.upstream:
            down.setdefault(up, []).append(node.id)
    for sweep in range(SWEEPS):
        rows = grid[1:] if sweep % 2 == 0 else list(reversed(grid[:-1]))
        for row in rows:
            where = {n.id: i for layer in grid for i, n in enumerate(layer)}
            def key(n: Node) -> float:
                near = n.upstream if sweep % 2 == 0 else down.get(n.id, [])
                spots = [where[m] for m in near if m in where]
                return sum(spots) / len(spots) if spots else where[n.id]
            row.sort(key=key)


def svg(nodes: list[Node]) -> str:
    """The graph as an ``<svg>`` element; each node a ``<g>`` with ``data-task-id`` and
    ``data-status`` (coloured by the page's CSS), each edge a curve."""
    grid = layers(nodes)
    tallest = max((len(layer) for layer in grid), default=0)
    spot: dict[str, tuple[float, float]] = {}
    for i, layer in enumerate(grid):
        offset = (tallest - len(layer)) * (HEIGHT + GAP_Y) / 2
        for j, node in enumerate(layer):
            spot[node.id] = (PAD + i * (WIDTH + GAP_X), PAD + offset + j * (HEIGHT + GAP_Y))
    width = PAD * 2 + max(len(grid), 1) * (WIDTH + GAP_X) - GAP_X
    height = PAD * 2 + max(tallest, 1) * (HEIGHT + GAP_Y) - GAP_Y
    parts = [f'<svg class="graph" xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
             f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img">']
    parts += [_edge(spot[u], spot[n.id]) for n in nodes for u in n.upstream if u in spot]
    parts += [_node(n, *spot[n.id]) for n in nodes]
    parts.append("</svg>")
    return "\n".join(parts)


def _edge(a: tuple[float, float], b: tuple[float, float]) -> str:
    x1, y1 = a[0] + WIDTH, a[1] + HEIGHT / 2
    x2, y2 = b[0], b[1] + HEIGHT / 2
    mid = (x1 + x2) / 2
    return (f'<path class="edge" d="M{x1:.0f},{y1:.0f} C{mid:.0f},{y1:.0f} '
            f'{mid:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"/>')


def _node(node: Node, x: float, y: float) -> str:
    label = node.label if len(node.label) <= 24 else node.label[:23] + "…"
    note = f'<text class="note" x="{x + 8:.0f}" y="{y + 30:.0f}">{escape(node.note)}</text>' \
        if node.note else ""
    text_y = y + (15 if node.note else 22)
    return (f'<g class="node st-{escape(node.status)}" data-task-id="{escape(node.id)}" '
            f'data-status="{escape(node.status)}"><title>{escape(node.id)}: '
            f'{escape(node.status)}{" " + escape(node.note) if node.note else ""}</title>'
            f'<rect x="{x:.0f}" y="{y:.0f}" width="{WIDTH}" height="{HEIGHT}" rx="6"/>'
            f'<text x="{x + 8:.0f}" y="{text_y:.0f}">{escape(label)}</text>{note}</g>')
