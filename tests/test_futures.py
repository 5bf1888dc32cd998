"""submit() children and subflows: the simpleflow/Flowy futures style. What must hold
on every executor (parallel children, a child's exception, retries, nested submits at
-n 1, subflow parameters) is in the executor suite (``flowrun/contract/children.py``);
these are the cases about the API itself."""
from __future__ import annotations


def test_submit_outside_a_task_is_a_clear_error():
    import pytest

    from flowrun import submit
    with pytest.raises(RuntimeError, match="only inside a running task"):
        submit(print)


def test_run_flow_failure_reaches_the_caller(project):
    project.write("flows/flow_sub.py", """
        from flowrun import task
        @task
        def breaks(): raise ValueError("inner")
    """)
    project.write("flows/flow_main.py", """
        from flowrun import task, run_flow
        @task
        def outer(): return run_flow("flows/flow_sub.py")
        @task
        def missing(): return run_flow("flows/flow_nope.py")
    """)
    result = project.run("flows/flow_main.py")
    assert result.exit_code == 1
    assert "subflow flows/flow_sub.py failed: flows/flow_main.py::outer::flow_sub::breaks " \
           "failed: ValueError: inner" in result.output
    assert "run_flow: no flow file 'flows/flow_nope.py'" in result.output


def test_a_repeated_group_of_steps_is_a_subflow_inside_each(project):
    """Sequent's nested step containers with repeats."""
    project.write("flows/steps/flow_step.py", """
        from flowrun import task, submit
        def shout(x): return x.upper()
        @task
        def fetch(region: str = "?"): return submit(shout, region).result()
        @task
        def store(fetch): return f"stored {fetch}"
    """)
    project.write("flows/flow_repeat.py", """
        from flowrun import task, run_flow
        @task(each={"region": ["eu", "us"]})
        def per_region(region): return run_flow("steps/flow_step.py", region=region)["store"]
        @task
        def summary(per_region): return per_region
    """)
    result = project.run("flows/flow_repeat.py")
    assert result.exit_code == 0, result.output
    assert result.result("flows/flow_repeat.py::summary") == ["stored EU", "stored US"]
    assert result.status("flows/flow_repeat.py::per_region[1]::flow_step::store") == "succeeded"
    assert result.status(
        "flows/flow_repeat.py::per_region[0]::flow_step::fetch::shout[0]") == "succeeded"
