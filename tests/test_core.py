"""End to end: discovery, dependencies, statuses, exit codes, the report."""
from __future__ import annotations


def test_task_receives_upstream_result(project):
    project.write("flows/flow_etl.py", """
        from flowrun import task
        @task
        def extract(): return [1, None, 2]
        @task
        def clean(extract): return [r for r in extract if r]
    """)
    result = project.run()
    assert result.exit_code == 0, result.output
    assert result.result("flows/flow_etl.py::clean") == [1, 2]
    assert "2 succeeded" in result.lines[-1]


def test_failed_upstream_cancels_downstream(project):
    project.write("flows/flow_a.py", """
        from flowrun import task
        @task
        def a(): raise ValueError("boom")
        @task
        def b(a): return a
        @task
        def independent(): return 1
    """)
    result = project.run()
    assert result.exit_code == 1
    assert result.status("flows/flow_a.py::a") == "failed"
    assert result.status("flows/flow_a.py::b") == "cancelled"
    assert result.status("flows/flow_a.py::independent") == "succeeded"
    assert "ValueError: boom" in result.output
