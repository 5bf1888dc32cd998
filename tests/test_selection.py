"""Selection (-k, -m, node ids), flow parameters and --collect-only."""
from __future__ import annotations

FLOW = """
    from flowrun import Flow, task
    flow = Flow(tags=["daily"])
    @task
    def extract(day: str = "mon", limit: int = 3, ratio: float = 0.5, dry: bool = False):
        return [day, limit, ratio, dry]
    @task(tags=["slow"])
    def clean(extract): return extract
    @task
    def report(clean): return clean
    @task(tags=["slow"])
    def other(): return "other"
"""


def test_node_id_selects_task_and_its_upstream(project):
    project.write("flows/flow_s.py", FLOW)
    result = project.run("flows/flow_s.py::clean")
    assert result.exit_code == 0, result.output
    assert result.statuses() == {"flows/flow_s.py::extract": "succeeded",
                                 "flows/flow_s.py::clean": "succeeded"}
    assert "2 deselected" in result.output


def test_unknown_node_id_is_a_usage_error(project):
    project.write("flows/flow_s.py", FLOW)
    result = project.run("flows/flow_s.py::nope")
    assert result.exit_code == 4
    assert "not found: flows/flow_s.py::nope" in result.output


def test_missing_path_is_a_usage_error(project):
    result = project.run("flows/missing.py")
    assert result.exit_code == 4
    assert "file or directory not found: flows/missing.py" in result.output


def test_keyword_expression(project):
    project.write("flows/flow_s.py", FLOW)
    project.write("flows/flow_t.py", "from flowrun import task\n@task\ndef solo(): return 1\n")
    result = project.run("-k", "report or solo")
    assert result.exit_code == 0, result.output
    assert set(result.statuses()) == {"flows/flow_s.py::extract", "flows/flow_s.py::clean",
                                      "flows/flow_s.py::report", "flows/flow_t.py::solo"}
    result = project.run("-k", "flow_s and not (report or clean or extract)")
    assert list(result.statuses()) == ["flows/flow_s.py::other"]


def test_tag_expression(project):
    project.write("flows/flow_s.py", FLOW)
    result = project.run("-m", "slow and not daily")
    assert result.exit_code == 5  # every task carries the flow's "daily" tag
    result = project.run("-m", "slow")
    assert set(result.statuses()) == {"flows/flow_s.py::extract", "flows/flow_s.py::clean",
                                      "flows/flow_s.py::other"}


def test_bad_expression_is_a_usage_error(project):
    project.write("flows/flow_s.py", FLOW)
    result = project.run("-k", "report and")
    assert result.exit_code == 4
    assert "bad expression 'report and'" in result.output


def test_params_are_converted_to_the_defaults_type(project):
    project.write("flows/flow_s.py", FLOW)
    result = project.run("--param", "day=tue", "--param", "limit=7", "--param", "ratio=1.5",
                         "--param", "dry=yes")
    assert result.exit_code == 0, result.output
    assert result.result("flows/flow_s.py::extract") == ["tue", 7, 1.5, True]


def test_unknown_param_is_rejected(project):
    project.write("flows/flow_s.py", FLOW)
    result = project.run("--param", "dya=tue")
    assert result.exit_code == 4
    assert "unknown flow parameter 'dya'" in result.output


def test_param_of_wrong_type_is_rejected(project):
    project.write("flows/flow_s.py", FLOW)
    result = project.run("--param", "limit=many")
    assert result.exit_code == 4
    assert "--param limit='many': expected an int" in result.output


def test_collect_only_prints_the_tree_and_runs_nothing(project):
    project.write("flows/flow_s.py", FLOW)
    result = project.run("--collect-only")
    assert result.exit_code == 0
    assert "<Flow flows/flow_s.py tags=['daily']>" in result.output
    assert "  <Task clean (after extract; tags slow)>" in result.output
    assert result.runs() == []


def test_collect_only_shows_collection_errors(project):
    project.write("flows/flow_s.py", FLOW)
    project.write("flows/flow_bad.py", "import nope_not_here\n")
    result = project.run("--collect-only")
    assert result.exit_code == 1
    assert "ERROR collecting flows/flow_bad.py" in result.output
    assert "4 tasks collected, 1 error in" in result.lines[-1]
