"""Flows fail and wait on their own (API section 2): ``Flow(fail_fast=True)`` and a
spec flow's ``cfg.fail_fast`` stop only that flow's tasks, ``-x`` the whole session;
``Flow(after=[...])`` orders flows inside a session; every cancelled task says why."""
from __future__ import annotations

import time

from all_executors import executor  # noqa: F401 - the fixture

SLOW_OTHER = """
    import time
    from flowrun import task
    @task
    def first(): time.sleep(0.3); return 1
    @task
    def second(first): return first + 1
"""

FAILING = """
    import time
    from flowrun import Flow, task
    flow = Flow(fail_fast=True)
    @task
    def boom(): raise RuntimeError("boom")
    @task
    def slow(): time.sleep(0.2); return 1
    @task
    def later(slow): return slow
"""


def test_a_flows_fail_fast_stops_only_that_flows_tasks(project, executor):
    project.write("flows/flow_bad.py", FAILING)
    project.write("flows/flow_other.py", SLOW_OTHER)
    result = project.run("-v", "-n", "4", *executor)
    assert result.exit_code == 1
    s = result.statuses()
    assert s["flows/flow_other.py::second"] == "succeeded"
    assert s["flows/flow_bad.py::later"] == "cancelled"
    reason = result.captured("flows/flow_bad.py::later")["reason"]
    assert reason == "flow stopped after flows/flow_bad.py::boom failed (fail_fast)"
    assert "(-x)" not in result.output
    assert "flow_bad.py::later CANCELLED" in result.output and reason in result.output


def test_a_spec_flows_default_fail_fast_leaves_other_flows_alone(project):
    project.write("flows/flow_spec.yaml", """
        tasks:
          - key: boom
            task_type: shell
            task_params: {cmd: "exit 3"}
          - key: ship
            task_type: shell
            task_params: {cmd: "echo shipped"}
    """)
    project.write("flows/flow_other.py", SLOW_OTHER)
    result = project.run("-n", "4")
    assert result.exit_code == 1
    assert result.status("flows/flow_spec.yaml::boom") == "failed", result.output
    assert result.status("flows/flow_other.py::second") == "succeeded", result.output
    assert "(-x)" not in result.output


def test_dash_x_still_stops_the_whole_session(project):
    project.write("flows/flow_bad.py", FAILING)
    project.write("flows/flow_other.py", SLOW_OTHER)
    result = project.run("-x", "-n", "4")
    assert result.status("flows/flow_other.py::second") == "cancelled"
    assert "(-x)" in result.captured("flows/flow_other.py::second")["reason"]


def test_after_starts_a_flow_once_the_flows_it_names_succeeded(project, executor):
    project.write("flows/flow_etl.py", """
        import time
        from flowrun import task
        @task
        def load(): time.sleep(0.3); return time.time()
    """)
    project.write("flows/flow_report.py", """
        import time
        from flowrun import Flow, task
        flow = Flow(after=["flows/flow_etl.py"])
        @task
        def report(): return time.time()
    """)
    result = project.run("-n", "4", *executor)
    assert result.exit_code == 0, result.output
    assert result.result("flows/flow_report.py::report") > \
        result.result("flows/flow_etl.py::load")


def test_a_flow_after_a_failed_flow_is_cancelled_with_that_reason(project):
    project.write("flows/flow_etl.py", """
        from flowrun import task
        @task
        def load(): raise RuntimeError("no data")
    """)
    project.write("flows/flow_report.py", """
        from flowrun import Flow, task
        flow = Flow(after="flows/flow_etl.py")
        @task
        def report(): return 1
        @task
        def publish(report): return report
    """)
    result = project.run()
    assert result.exit_code == 1
    for name in ("report", "publish"):
        assert result.status(f"flows/flow_report.py::{name}") == "cancelled"
        assert result.captured(f"flows/flow_report.py::{name}")["reason"] == \
            "flow flows/flow_etl.py failed (this flow runs after it)"
    run_id = [r for r in result.runs() if r["flow"] == "flows/flow_report.py"][0]["id"]
    show = project.run("show", run_id)
    assert "flow flows/flow_etl.py failed (this flow runs after it)" in show.output


def test_a_flow_not_selected_is_not_waited_for(project):
    project.write("flows/flow_etl.py", """
        from flowrun import task
        @task
        def load(): raise RuntimeError("never selected")
    """)
    project.write("flows/flow_report.py", """
        from flowrun import Flow, task
        flow = Flow(after=["flows/flow_etl.py"])
        @task
        def report(): return 1
    """)
    start = time.time()
    result = project.run("flows/flow_report.py")
    assert result.exit_code == 0, result.output
    assert time.time() - start < 10


def test_a_cycle_of_flow_afters_is_a_collection_error(project):
    project.write("flows/flow_a.py", """
        from flowrun import Flow, task
        flow = Flow(after=["flows/flow_b.py"])
        @task
        def a(): return 1
    """)
    project.write("flows/flow_b.py", """
        from flowrun import Flow, task
        flow = Flow(after=["flows/flow_a.py"])
        @task
        def b(): return 1
    """)
    project.write("flows/flow_c.py", """
        from flowrun import task
        @task
        def c(): return 1
    """)
    result = project.run()
    assert result.exit_code == 1
    assert "flows/flow_a.py -> flows/flow_b.py -> flows/flow_a.py" in result.output
    assert result.status("flows/flow_c.py::c") == "succeeded"


def test_after_naming_no_string_is_a_collection_error(project):
    project.write("flows/flow_a.py", """
        from flowrun import Flow, task
        flow = Flow(after=[5])
        @task
        def a(): return 1
    """)
    result = project.run()
    assert result.exit_code == 1
    assert "bad Flow option after=[5]: expected a list of flow ids or paths" in result.output
