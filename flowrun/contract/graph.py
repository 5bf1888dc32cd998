"""Executor suite, part two: how tasks of a flow relate (API sections 2 and 8):
run_if conditions, each= mapping, concurrency groups, -x and fail_fast, spec flows."""
from __future__ import annotations

from flowrun.contract.base import ExecutorSuiteBase


class GraphSemantics(ExecutorSuiteBase):
    """A flow's graph runs the same wherever its tasks run."""

    def test_run_if_conditions(self, project):
        project.write("flows/flow_c.py", """
            from flowrun import task
            @task
            def good(): return 1
            @task
            def bad(): raise RuntimeError("x")
            @task(after=["bad"], run_if="failed")
            def alert(): return "paged"
            @task(after=["good"], run_if="failed")
            def no_alert(): return "never"
            @task(after=["good", "bad"], run_if="done")
            def cleanup(): return "cleaned"
            @task(after=["good", "bad"], run_if="any_succeeded")
            def partial(): return "some"
            @task(after=["bad"], run_if="any_succeeded")
            def hopeless(): return "never"
        """)
        result = self.flowrun(project)
        assert result.exit_code == 1
        s = result.statuses()
        assert s["flows/flow_c.py::alert"] == "succeeded"
        assert s["flows/flow_c.py::no_alert"] == "skipped"
        assert s["flows/flow_c.py::cleanup"] == "succeeded"
        assert s["flows/flow_c.py::partial"] == "succeeded"
        assert s["flows/flow_c.py::hopeless"] == "skipped"
        reason = result.captured("flows/flow_c.py::hopeless")["reason"]
        assert "no upstream task succeeded" in reason

    def test_each_maps_over_upstream_result(self, project):
        project.write("flows/flow_e.py", """
            from flowrun import task
            @task
            def items(): return [3, 1, 2]
            @task(each="items")
            def square(items):
                print("squaring", items)
                return items * items
            @task
            def total(square): return square
        """)
        result = self.flowrun(project)
        assert result.exit_code == 0, result.output
        assert result.result("flows/flow_e.py::total") == [9, 1, 4]
        assert result.captured("flows/flow_e.py::square[1]")["stdout"] == "squaring 1\n"
        assert result.status("flows/flow_e.py::square[2]") == "succeeded"

    def test_each_over_empty_list_gives_empty_list(self, project):
        project.write("flows/flow_e.py", """
            from flowrun import task
            @task
            def items(): return []
            @task(each="items")
            def square(items): return items * items
            @task
            def total(square): return {"got": square}
        """)
        result = self.flowrun(project)
        assert result.exit_code == 0, result.output
        assert result.result("flows/flow_e.py::total") == {"got": []}

    def test_one_failed_instance_fails_the_mapped_task_others_still_run(self, project):
        project.write("flows/flow_e.py", """
            from flowrun import task
            @task
            def items(): return [1, 0, 2]
            @task(each="items")
            def invert(items): return 1 / items
            @task
            def total(invert): return sum(invert)
        """)
        result = self.flowrun(project)
        assert result.exit_code == 1
        assert result.status("flows/flow_e.py::invert[0]") == "succeeded"
        assert result.status("flows/flow_e.py::invert[1]") == "failed"
        assert result.status("flows/flow_e.py::invert[2]") == "succeeded"
        assert result.status("flows/flow_e.py::total") == "cancelled"
        assert "ZeroDivisionError" in result.output

    def test_static_each_repeats_like_parametrize(self, project):
        project.write("flows/flow_e.py", """
            from flowrun import task
            @task(each={"region": ["eu", "us"], "size": [1, 2]})
            def shard(region, size): return f"{region}{size}"
            @task
            def gather(shard): return shard
        """)
        result = self.flowrun(project)
        assert result.exit_code == 0, result.output
        assert result.result("flows/flow_e.py::gather") == ["eu1", "eu2", "us1", "us2"]

    def test_each_over_a_non_list_fails_clearly(self, project):
        project.write("flows/flow_e.py", """
            from flowrun import task
            @task
            def items(): return 5
            @task(each="items")
            def use(items): return items
        """)
        result = self.flowrun(project)
        assert result.exit_code == 1
        assert "each='items' needs a list (or other iterable) from task 'items', got int" \
            in result.output

    def test_concurrency_group_limits_parallelism(self, project):
        self.configure(project, "[limits]\ndb = 2\n")
        project.write("flows/flow_l.py", """
            import os, time
            from flowrun import task
            @task
            def items(): return list(range(6))
            @task(each="items", limit="db")
            def query(items):
                start = time.time()
                time.sleep(0.15)
                return (start, time.time())
            @task
            def spans(query): return query
        """)
        result = self.flowrun(project, "-n", "6")
        assert result.exit_code == 0, result.output
        spans = result.result("flows/flow_l.py::spans")
        for start, _ in spans:
            running = sum(1 for s, e in spans if s <= start < e)
            assert running <= 2

    def test_overlapping_groups_do_not_deadlock(self, project):
        project.write("flows/flow_l.py", """
            from flowrun import Flow, task
            flow = Flow(limits={"a": 1, "b": 1})
            @task(limit=["a", "b"])
            def both(): return 1
            @task(limit=["b", "a"])
            def both_again(): return 2
            @task(limit="a")
            def only_a(): return 3
        """)
        result = self.flowrun(project, "-n", "4")
        assert result.exit_code == 0, result.output
        assert "3 succeeded" in result.lines[-1]

    def test_exitfirst_stops_starting_tasks(self, project):
        project.write("flows/flow_x.py", """
            import time
            from flowrun import task
            @task
            def fails(): raise RuntimeError("first")
            @task
            def runs_long():
                time.sleep(0.5)
                return 1
            @task
            def later(runs_long): return 2
        """)
        result = self.flowrun(project, "-x", "-n", "2")
        assert result.exit_code == 1
        assert result.status("flows/flow_x.py::runs_long") == "succeeded"  # finished, not killed
        assert result.status("flows/flow_x.py::later") == "cancelled"
        assert "-x" in result.captured("flows/flow_x.py::later")["reason"]

    def test_flow_fail_fast(self, project):
        project.write("flows/flow_x.py", """
            import time
            from flowrun import Flow, task
            flow = Flow(fail_fast=True)
            @task
            def fails(): raise RuntimeError("first")
            @task
            def slow():
                time.sleep(0.3)
            @task
            def later(slow): return 2
        """)
        result = self.flowrun(project, "-n", "2")
        assert result.exit_code == 1
        assert result.status("flows/flow_x.py::later") == "cancelled"

    def test_spec_flow_tasks_run_in_order_and_print(self, project):
        project.write("flows/flow_example.yaml", """
            label: example_flow
            tasks:
              - key: task_1
                task_type: print
                task_params: {msg: I am task_1.}
              - key: task_2
                task_type: print
                task_params: {msg: I am task_2.}
        """)
        result = self.flowrun(project, "-n", "4")
        assert result.exit_code == 0, result.output
        first, second = (result.reports(f"flows/flow_example.yaml::task_{i}")[-1]
                         for i in (1, 2))
        assert first.stdout == "I am task_1.\n" and second.stdout == "I am task_2.\n"
        assert first.finished <= second.started
        logs = project.run("logs", result.new_runs()[0]["id"]).output
        assert logs.index("I am task_1.") < logs.index("I am task_2.")

    def test_spec_python_task_runs_a_project_function(self, project):
        project.write("flows/helpers.py", """
            def add(a, b):
                return {"sum": a + b, "module": __name__}
        """)
        project.write("flows/flow_calc.yml", """
            tasks:
              - key: add
                task_type: python
                task_params: {function: "helpers:add", params: {a: 2, b: 3}}
              - key: missing
                task_type: python
                task_params: {function: "no_such_module:f"}
        """)
        result = self.flowrun(project)
        assert result.exit_code == 1, result.output
        assert result.result("flows/flow_calc.yml::add") == {"sum": 5, "module": "helpers"}
        summary = result.reports("flows/flow_calc.yml::missing")[-1].summary
        assert "ModuleNotFoundError" in summary and "no_such_module" in summary
