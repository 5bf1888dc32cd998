"""Executor suite, part four: ``submit()`` children and ``run_flow()`` subflows (API
section 4), which must behave alike wherever the parent task runs: the coordinator
starts every child, records it under the same id, and a parent waiting on its children
never starves them, even at ``-n 1``."""
from __future__ import annotations

from flowrun.contract.base import ExecutorSuiteBase

SIMPLEFLOW = """
    from flowrun import task, submit

    def increment(x):
        return x + 1

    def double(x):
        return x * 2

    @task
    def main(x: int = 1):
        y = submit(increment, x)
        z = submit(double, y.result())
        return z.result()
"""


class ChildSemantics(ExecutorSuiteBase):
    """Children and subflows of a task behave the same wherever it runs."""

    def test_simpleflow_example_gives_the_same_result_and_child_ids(self, project):
        project.write("flows/flow_simple.py", SIMPLEFLOW)
        result = self.flowrun(project, "-n", "1", "-v")
        assert result.exit_code == 0, result.output
        assert result.result("flows/flow_simple.py::main") == 4
        assert result.result("flows/flow_simple.py::main::increment[0]") == 2
        assert result.result("flows/flow_simple.py::main::double[0]") == 4
        (child,) = result.reports("flows/flow_simple.py::main::double[0]")
        assert child.parent == "flows/flow_simple.py::main"
        assert "3 succeeded" in result.lines[-1]

    def test_independent_children_run_in_parallel(self, project):
        project.write("flows/flow_f.py", """
            import time
            from flowrun import task, submit
            def nap(n):
                start = time.time()
                time.sleep(1.5)
                print("napped", n)
                return start, time.time()
            @task
            def parent():
                spans = [f.result() for f in [submit(nap, n) for n in range(2)]]
                return max(s for s, _ in spans) < min(e for _, e in spans)
        """)
        result = self.flowrun(project, "-n", "2")
        assert result.exit_code == 0, result.output
        assert result.result("flows/flow_f.py::parent") is True  # the naps overlapped
        assert result.captured("flows/flow_f.py::parent::nap[1]")["stdout"] == "napped 1\n"

    def test_nested_submits_do_not_starve_one_or_two_slots(self, project):
        project.write("flows/flow_f.py", """
            from flowrun import task, submit
            def leaf(n): return n
            def middle(n): return sum(submit(leaf, i).result() for i in range(n))
            @task
            def top(): return [submit(middle, n).result() for n in range(4)]
        """)
        for slots in ("1", "2"):
            result = self.flowrun(project, "-n", slots)
            assert result.exit_code == 0, result.output
            assert result.result("flows/flow_f.py::top") == [0, 0, 1, 3]
            assert result.status("flows/flow_f.py::top::middle[3]::leaf[2]") == "succeeded"

    def test_a_childs_exception_reaches_the_parent_as_itself(self, project):
        project.write("flows/flow_f.py", """
            from flowrun import task, submit
            class Missing(KeyError):
                pass
            def explode(): raise Missing("deep")
            @task
            def parent():
                try:
                    submit(explode).result()
                except Missing as exc:
                    return f"caught {type(exc).__name__} {exc}"
        """)
        result = self.flowrun(project)
        assert result.exit_code == 1, result.output  # a child failed: the run says so
        assert result.result("flows/flow_f.py::parent") == "caught Missing 'deep'"
        assert result.status("flows/flow_f.py::parent::explode[0]") == "failed"

    def test_a_child_task_keeps_its_options_and_is_retried(self, project):
        project.write("flows/flow_f.py", """
            from flowrun import task, submit
            @task(retries=2)
            def flaky(context, n: int = 0):
                if context.attempt < 2:
                    raise RuntimeError("once")
                return n * context.attempt
            @task
            def parent(): return submit(flaky, n=21).result()
        """)
        result = self.flowrun(project)
        assert result.exit_code == 0, result.output
        assert result.result("flows/flow_f.py::parent") == 42
        assert result.attempts("flows/flow_f.py::parent::flaky[0]") == 2

    def test_run_flow_runs_a_subflow_with_parameters(self, project):
        project.write("flows/lib/flow_prices.py", """
            from flowrun import task
            @task
            def fetch(currency: str = "EUR"): return {"currency": currency, "rate": 2}
            @task
            def keys(fetch): return sorted(fetch)
            @task(each="keys")
            def per(keys, currency: str = "EUR"): return f"{keys}:{currency}"
            @task
            def convert(fetch): return fetch["rate"] * 10
        """)
        project.write("flows/flow_main.py", """
            from flowrun import task, run_flow
            @task
            def prices(): return run_flow("lib/flow_prices.py", currency="USD")
        """)
        result = self.flowrun(project, "-n", "1", "flows/flow_main.py")
        assert result.exit_code == 0, result.output
        got = result.result("flows/flow_main.py::prices")
        assert got["fetch"] == {"currency": "USD", "rate": 2} and got["convert"] == 20
        assert got["per"] == ["currency:USD", "rate:USD"]  # parameters reach mapped tasks
        assert result.status("flows/flow_main.py::prices::flow_prices::convert") == "succeeded"

    def test_resume_reuses_children_that_succeeded(self, project):
        project.write("flows/flow_c.py", """
            import os, pathlib
            from flowrun import task, submit
            def fetch(n):
                with open("fetched", "a") as f:
                    f.write(f"{n}\\n")
                return n + 100
            @task
            def parent():
                got = [f.result() for f in [submit(fetch, n) for n in (1, 2)]]
                if not os.path.exists("ok"):
                    raise RuntimeError("after the children")
                return got
        """)
        assert self.flowrun(project).exit_code == 1
        (project.path / "ok").write_text("")
        result = self.flowrun(project, "--resume")
        assert result.exit_code == 0, result.output
        assert sorted((project.path / "fetched").read_text().split()) == ["1", "2"]
        assert result.status("flows/flow_c.py::parent::fetch[1]") == "cached"
        assert result.result("flows/flow_c.py::parent") == [101, 102]
