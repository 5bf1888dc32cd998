"""flowrun graph FLOW: text, dot, mermaid, json and svg, with a run's statuses."""
from __future__ import annotations

import json
import shutil

import pytest

FLOW = """
    from flowrun import task
    @task
    def extract():
        return [1, 2]
    @task(each="extract")
    def clean(extract):
        return extract
    @task
    def report(clean):
        raise ValueError("no paper")
    @task
    def notify(report):
        pass
"""


@pytest.fixture
def flow(project):
    project.write("flows/flow_etl.py", FLOW)
    return project


def test_text_lists_tasks_upstream_first(flow):
    result = flow.run("graph", "flows/flow_etl.py")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "flows/flow_etl.py", "  extract", "  clean [each extract]  <- extract",
        "  report  <- clean", "  notify  <- report"]


def test_dot_has_nodes_and_edges(flow):
    out = flow.run("graph", "flows/flow_etl.py", "--format", "dot").stdout
    assert out.startswith('digraph "flows/flow_etl.py" {')
    assert '"extract" -> "clean";' in out and '"report" -> "notify";' in out


def test_mermaid_has_nodes_and_edges(flow):
    out = flow.run("graph", "flows/flow_etl.py", "--format", "mermaid").stdout
    assert out.splitlines()[0] == "flowchart LR"
    assert '  t0["extract"]' in out and "  t0 --> t1" in out


def test_json_prints_to_dict(flow):
    data = json.loads(flow.run("graph", "flows/flow_etl.py", "--format", "json").stdout)
    assert data["key"] == "flows/flow_etl.py"
    assert data["graph"]["tasks"]["notify"]["precursors"] == ["report"]
    assert data["graph"]["tasks"]["clean"]["each"] == "extract"


def test_run_colours_nodes_by_status(flow):
    run = flow.run()
    assert run.exit_code == 1
    run_id = run.new_runs()[0]["id"]
    dot = flow.run("graph", "flows/flow_etl.py", "--format", "dot", "--run", run_id).stdout
    assert '"report" [label="report (failed)", fillcolor="#f4a6a6"];' in dot
    assert '"notify" [label="notify (cancelled)"' in dot
    mermaid = flow.run("graph", "flows/flow_etl.py", "--format", "mermaid",
                       "--run", "last").stdout
    assert "  class t2 failed;" in mermaid and "classDef failed fill:#f4a6a6" in mermaid
    text = flow.run("graph", "flows/flow_etl.py", "--run", run_id).stdout
    assert "  extract  [succeeded]" in text
    data = json.loads(flow.run("graph", "flows/flow_etl.py", "--format", "json",
                               "--run", run_id).stdout)
    assert data["graph"]["tasks"]["report"]["status"] == "FAILED"
    assert data["status"] == "FAILED"


def test_run_of_another_flow_is_a_clear_error(flow):
    flow.write("flows/flow_other.py", "from flowrun import task\n@task\ndef a(): pass\n")
    flow.run("flows/flow_other.py")
    result = flow.run("graph", "flows/flow_etl.py", "--run", "last")
    assert result.exit_code == 4
    assert result.stderr.strip() == "ERROR: flows/flow_etl.py has no runs yet"


def test_broken_flow_is_one_clear_line(flow):
    flow.write("flows/flow_bad.py", "from flowrun import task\n@task\ndef a(b): pass\n")
    result = flow.run("graph", "flows/flow_bad.py")
    assert result.exit_code == 4
    assert "parameter 'b' names no task" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.skipif(shutil.which("dot") is None,
                    reason="Graphviz's dot is not installed (apt install graphviz)")
def test_svg_is_rendered_by_graphviz(flow):
    result = flow.run("graph", "flows/flow_etl.py", "--format", "svg", "-o", "etl.svg")
    assert result.exit_code == 0, result.output
    svg = (flow.path / "etl.svg").read_text()
    assert "<svg" in svg and ">extract</text>" in svg


def test_svg_without_graphviz_says_to_install_it(flow, tmp_path):
    result = flow.run("graph", "flows/flow_etl.py", "--format", "svg",
                      env={"PATH": str(tmp_path / "empty")})
    assert result.exit_code == 4
    assert result.stderr.splitlines() == [
        "ERROR: --format svg needs Graphviz's `dot`, which is not installed: install "
        "graphviz (apt install graphviz, brew install graphviz) or use --format dot"]
