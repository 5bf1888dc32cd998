"""``graph.order``: upstream first, in a stable order (the explain command and cycle
checks rely on it), linear in tasks plus edges (tests/benchmarks/bench_collect.py)."""
from __future__ import annotations

import pytest

from flowrun import graph
from flowrun.errors import CycleError
from flowrun.model import Flow, Task, TaskOptions


def make_flow(edges: dict[str, tuple[str, ...]]) -> Flow:
    """A flow whose tasks are defined in ``edges`` order, each after its upstream."""
    flow = Flow()
    flow.id = flow.path = "flows/flow_g.py"

    def noop() -> None:
        return None

    flow.tasks = {name: Task(flow.id, name, noop, TaskOptions(after=ups))
                  for name, ups in edges.items()}
    graph.resolve(flow)
    return flow


EDGES = {"d": ("b", "c"), "a": (), "b": ("a",), "c": ("a",), "e": (), "f": ("d", "e")}


def test_order_puts_upstream_first_in_a_stable_order():
    flow = make_flow(EDGES)
    names = graph.order(flow)
    assert names == ["a", "e", "b", "c", "d", "f"]  # roots as defined, then as freed
    assert graph.order(flow) == names
    position = {name: i for i, name in enumerate(names)}
    for name, ups in EDGES.items():
        assert all(position[up] < position[name] for up in ups)


def test_order_of_a_long_chain_defined_backwards():
    n = 2000
    flow = make_flow({f"t{i}": (f"t{i - 1}",) if i else () for i in reversed(range(n))})
    assert graph.order(flow) == [f"t{i}" for i in range(n)]


def test_order_names_a_cycle():
    with pytest.raises(CycleError, match=r"dependency cycle b -> c -> b"):
        make_flow({"a": (), "b": ("a", "c"), "c": ("b",)})
