"""A flow's graph as inline SVG, laid out here (no Graphviz), Sugiyama's way: nodes in
layers by their longest path from a source, left to right; an edge longer than one
layer gets a placeholder in every layer it crosses, so it is routed through a gap and
never under a node; each layer ordered by the mean position of its neighbours (a few
barycentre sweeps), which keeps crossings few. Every edge ends in an arrowhead."""
from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Callable

WIDTH, HEIGHT, GAP_X, GAP_Y, PAD = 190, 36, 70, 14, 10
LANE = 10  # the height of a placeholder: an edge passing through a layer
SWEEPS = 4


@dataclass
class Node:
    id: str
    label: str
    status: str = "pending"
    note: str = ""  # e.g. "12× 10 succeeded, 2 failed" for a mapped task
    upstream: list[str] = field(default_factory=list)
    lane: bool = False  # a placeholder for an edge crossing this layer


@dataclass
class Layout:
    """Layers of nodes and placeholders, and each edge's chain of placeholders."""
    grid: list[list[Node]]
    chains: dict[tuple[str, str], list[str]]


def layers(nodes: list[Node]) -> list[list[Node]]:
    return layout(nodes).grid


def layout(nodes: list[Node]) -> Layout:
    """Longest-path layering (placeholders included), then barycentre ordering."""
    by_id = {n.id: n for n in nodes}
    depth: dict[str, int] = {}
    for node in nodes:
        _iterative_level(node, by_id, depth)
    chains, lanes = _lanes(nodes, by_id, depth)
    grid: list[list[Node]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for node in nodes + lanes:
        grid[depth[node.id]].append(node)
    _order(grid, chains)
    return Layout(grid, chains)


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


def _lanes(nodes: list[Node], by_id: dict[str, Node], depth: dict[str, int]
           ) -> tuple[dict[tuple[str, str], list[str]], list[Node]]:
    """Each edge's chain of placeholders, one per layer it crosses."""
    chains: dict[tuple[str, str], list[str]] = {}
    lanes: list[Node] = []
    for node in nodes:
        for up in node.upstream:
            if up not in by_id or depth[up] >= depth[node.id]:
                continue
            chain = []
            for level in range(depth[up] + 1, depth[node.id]):
                lane = Node(f"{up}\0{node.id}\0{level}", "", lane=True)
                depth[lane.id] = level
                lanes.append(lane)
                chain.append(lane.id)
            chains[(up, node.id)] = chain
    return chains, lanes


def _order(grid: list[list[Node]], chains: dict[tuple[str, str], list[str]]) -> None:
    up: dict[str, list[str]] = {}
    down: dict[str, list[str]] = {}
    for (source, target), chain in chains.items():
        path = [source, *chain, target]
        for a, b in zip(path, path[1:]):
            up.setdefault(b, []).append(a)
            down.setdefault(a, []).append(b)
    where = {n.id: i for layer in grid for i, n in enumerate(layer)}
    for sweep in range(SWEEPS):
        rows = grid[1:] if sweep % 2 == 0 else list(reversed(grid[:-1]))
        near = up if sweep % 2 == 0 else down
        for row in rows:
            def key(n: Node) -> float:
                spots = [where[m] for m in near.get(n.id, ()) if m in where]
                return sum(spots) / len(spots) if spots else where[n.id]
            row.sort(key=key)
            where.update((n.id, i) for i, n in enumerate(row))  # the next row sees it


def svg(nodes: list[Node], href: Callable[[str], str | None] = lambda _: None) -> str:
    """The graph as an ``<svg>`` element: each node a ``<g>`` with ``data-task-id`` and
    ``data-status`` (coloured by the page's CSS, its status also in words), each edge a
    path with ``data-from``, ``data-to`` and an arrowhead; ``href`` links a node."""
    plan = layout(nodes)
    spot, width, height = _place(plan.grid)
    parts = [f'<svg class="graph" xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
             f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="group" '
             'aria-label="the tasks and their dependencies">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" '
             'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
             '<path d="M0,0 L10,5 L0,10 z"/></marker></defs>']
    parts += [_edge(a, b, [spot[a], *(spot[c] for c in chain), spot[b]])
              for (a, b), chain in plan.chains.items()]
    parts += [_node(n, *spot[n.id], href(n.id)) for n in nodes]
    parts.append("</svg>")
    return "\n".join(parts)


def _place(grid: list[list[Node]]) -> tuple[dict[str, tuple[float, float]], float, float]:
    """Top-left corner of every node and placeholder; each layer centred."""
    sizes = [sum(_height(n) + GAP_Y for n in layer) - GAP_Y for layer in grid]
    tallest = max(sizes, default=HEIGHT)
    spot: dict[str, tuple[float, float]] = {}
    for i, layer in enumerate(grid):
        y = PAD + (tallest - sizes[i]) / 2
        for node in layer:
            spot[node.id] = (PAD + i * (WIDTH + GAP_X), y)
            y += _height(node) + GAP_Y
    width = PAD * 2 + max(len(grid), 1) * (WIDTH + GAP_X) - GAP_X
    return spot, width, PAD * 2 + max(tallest, HEIGHT)


def _height(node: Node) -> float:
    return LANE if node.lane else HEIGHT


def _edge(source: str, target: str, points: list[tuple[float, float]]) -> str:
    """Across each gap a curve; through each crossed layer a straight run along its
    placeholder."""
    x, y = points[0][0] + WIDTH, points[0][1] + HEIGHT / 2
    path = [f"M{x:.0f},{y:.0f}"]
    for k, (px, py) in enumerate(points[1:], start=1):
        last = k == len(points) - 1
        ny = py + (HEIGHT if last else LANE) / 2
        mid = (x + px) / 2
        end = px - 1 if last else px
        path.append(f"C{mid:.0f},{y:.0f} {mid:.0f},{ny:.0f} {end:.0f},{ny:.0f}")
        if not last:
            path.append(f"L{px + WIDTH:.0f},{ny:.0f}")
        x, y = px + WIDTH, ny
    return (f'<path class="edge" data-from="{escape(source)}" data-to="{escape(target)}" '
            f'd="{" ".join(path)}" marker-end="url(#arrow)"/>')


def _node(node: Node, x: float, y: float, href: str | None) -> str:
    label = node.label if len(node.label) <= 24 else node.label[:23] + "…"
    note = f'<text class="note" x="{x + 8:.0f}" y="{y + 30:.0f}">{escape(node.note)}</text>' \
        if node.note else ""
    text_y = y + (15 if node.note else 22)
    inner = (f'<title>{escape(node.id)}: {escape(node.status)}'
             f'{" " + escape(node.note) if node.note else ""}</title>'
             f'<rect x="{x:.0f}" y="{y:.0f}" width="{WIDTH}" height="{HEIGHT}" rx="6"/>'
             f'<text x="{x + 8:.0f}" y="{text_y:.0f}">{escape(label)}</text>{note}')
    if href:
        inner = f'<a href="{escape(href)}" aria-label="{escape(node.label)}: ' \
                f'{escape(node.status)}">{inner}</a>'
    return (f'<g class="node st-{escape(node.status)}" data-task-id="{escape(node.id)}" '
            f'data-status="{escape(node.status)}">{inner}</g>')
