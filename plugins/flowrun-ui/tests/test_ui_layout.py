"""The graph layout without Graphviz: layers follow the edges, nodes never overlap, big
graphs stay quick, and mapped instances collapse into one node with counts."""
from __future__ import annotations

import re
import time

from flowrun_ui.graphs import run_nodes
from flowrun_ui.layout import Node, layers, svg


def _boxes(text: str) -> dict[str, tuple[int, int]]:
    found = {}
    for node_id, x, y in re.findall(
            r'data-task-id="([^"]+)"[^>]*>.*?<rect x="(\d+)" y="(\d+)"', text):
        found[node_id] = (int(x), int(y))
    return found


def test_every_node_sits_right_of_all_its_upstream_nodes():
    nodes = [Node("a", "a"), Node("b", "b", upstream=["a"]), Node("c", "c", upstream=["a"]),
             Node("d", "d", upstream=["b", "c"]), Node("e", "e", upstream=["a", "d"])]
    boxes = _boxes(svg(nodes))
    for node in nodes:
        for up in node.upstream:
            assert boxes[up][0] < boxes[node.id][0], (up, node.id)
    assert [[n.id for n in layer] for layer in layers(nodes)][-1] == ["e"]


def test_two_hundred_tasks_are_laid_out_quickly_without_overlaps():
    nodes = [Node(f"t{i}", f"t{i}", upstream=[f"t{i - 7}", f"t{i // 3}"] if i >= 7 else [])
             for i in range(200)]
    started = time.perf_counter()
    text = svg(nodes)
    assert time.perf_counter() - started < 1.0
    boxes = _boxes(text)
    assert len(boxes) == 200 and len(set(boxes.values())) == 200
    width = int(re.search(r'width="(\d+)"', text).group(1))
    height = int(re.search(r'height="(\d+)"', text).group(1))
    assert width < 20_000 and height < 20_000


def test_mapped_instances_collapse_into_one_node_with_counts():
    flow = {"id": "f.py", "tasks": [
        {"id": "f.py::src", "name": "src", "upstream": [], "mapped": False},
        {"id": "f.py::per", "name": "per", "upstream": ["src"], "mapped": True}]}
    tasks = [{"task_id": "f.py::src", "status": "succeeded"}] + [
        {"task_id": f"f.py::per[{i}]", "status": "failed" if i == 2 else "succeeded"}
        for i in range(5)]
    nodes = {n.id: n for n in run_nodes("f.py", flow, tasks)}
    assert set(nodes) == {"f.py::src", "f.py::per"}
    assert nodes["f.py::per"].status == "failed"
    assert nodes["f.py::per"].note == "5× 1 failed, 4 succeeded"
    assert nodes["f.py::per"].upstream == ["f.py::src"]


def test_labels_and_ids_are_escaped():
    text = svg([Node('x"<script>', "<b>")])
    assert "<script>" not in text and "&lt;b&gt;" in text


def test_ten_thousand_tasks_are_laid_out_in_linear_time_and_fold_above_500():
    from flowrun_ui.graphs import folded

    nodes = [Node(f"f.py::t{i}", f"t{i}", upstream=[f"f.py::t{i - 10}"] if i >= 10 else [])
             for i in range(2000)]
    started = time.perf_counter()
    layers(nodes)  # 200 layers of 10: the ordering must not be quadratic in layers
    assert time.perf_counter() - started < 2.0
    many = [Node(f"f.py::load_{i}", f"load_{i}") for i in range(300)] + [
        Node(f"f.py::step{i}", f"step{i}", upstream=[f"f.py::load_{i % 300}"])
        for i in range(600)]
    shown = {n.id: n for n in folded(many)}
    assert set(shown) == {"f.py::load_*", "f.py::step#"}
    assert shown["f.py::step#"].upstream == ["f.py::load_*"]
