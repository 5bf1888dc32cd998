"""submit() children and subflows: the simpleflow/Flowy futures style."""
from __future__ import annotations


def test_submitted_children_run_in_parallel_and_are_recorded(project):
    project.write("flows/flow_f.py", """
        import time
        from flowrun import task, submit
        def fetch(n):
            print("fetching", n)
            time.sleep(0.3)
            return n * 10
        @task
        def parent():
            start = time.time()
            futures = [submit(fetch, n) for n in range(4)]
            values = [f.result() for f in futures]
            return values, time.time() - start
    """)
    result = project.run("-n", "4")
    assert result.exit_code == 0, result.output
    values, elapsed = result.result("flows/flow_f.py::parent")
    assert values == [0, 10, 20, 30]
    assert elapsed < 1.0  # four 0.3 s children, in parallel
    assert result.status("flows/flow_f.py::parent::fetch[2]") == "succeeded"
    assert result.captured("flows/flow_f.py::parent::fetch[2]")["stdout"] == "fetching 2\n"
    (child,) = result.reports("flows/flow_f.py::parent::fetch[2]")
    assert child.parent == "flows/flow_f.py::parent"


def test_child_exception_reaches_the_caller(project):
    project.write("flows/flow_f.py", """
        from flowrun import task, submit
        def explode(): raise KeyError("deep")
        @task
        def parent():
            try:
                submit(explode).result()
            except KeyError as exc:
                return f"caught {exc}"
    """)
    result = project.run()
    assert result.result("flows/flow_f.py::parent") == "caught 'deep'"
    assert result.status("flows/flow_f.py::parent::explode[0]") == "failed"
    assert result.exit_code == 1  # a child failed: the run says so


def test_children_are_retried_with_the_task_options(project):
    project.write("flows/flow_f.py", """
        from flowrun import task, submit
        calls = []
        @task(retries=2)
        def flaky_child(context):
            if context.attempt < 2:
                raise RuntimeError("once")
            return context.attempt
        @task
        def parent(): return submit(flaky_child).result()
    """)
    result = project.run()
    assert result.exit_code == 0, result.output
    assert result.attempts("flows/flow_f.py::parent::flaky_child[0]") == 2


def test_nested_submits_do_not_starve_a_single_worker(project):
    project.write("flows/flow_f.py", """
        from flowrun import task, submit
        def leaf(n): return n
        def middle(n): return sum(submit(leaf, i).result() for i in range(n))
        @task
        def top(): return [submit(middle, n).result() for n in range(4)]
    """)
    result = project.run("-n", "1")
    assert result.exit_code == 0, result.output
    assert result.result("flows/flow_f.py::top") == [0, 0, 1, 3]


def test_submit_outside_a_task_is_a_clear_error():
    import pytest

    from flowrun import submit
    with pytest.raises(RuntimeError, match="only inside a running task"):
        submit(print)


def test_run_flow_runs_another_flow_as_a_nested_group(project):
    project.write("flows/lib/flow_prices.py", """
        from flowrun import task
        @task
        def fetch(currency: str = "EUR"): return {"currency": currency, "rate": 2}
        @task
        def convert(fetch): return fetch["rate"] * 10
    """)
    project.write("flows/flow_main.py", """
        from flowrun import task, run_flow
        @task
        def prices(): return run_flow("lib/flow_prices.py", currency="USD")
    """)
    result = project.run("flows/flow_main.py")
    assert result.exit_code == 0, result.output
    assert result.result("flows/flow_main.py::prices") == {
        "fetch": {"currency": "USD", "rate": 2}, "convert": 20}
    assert result.status("flows/flow_main.py::prices::flow_prices::convert") == "succeeded"


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
