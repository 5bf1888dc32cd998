"""Executor suite, part one: what happens to one task's attempts (API sections 2 and
4): retries and their delays, timeouts, skip(), the context, flow state, run keys, the
option hierarchy and unstorable results."""
from __future__ import annotations

import time

from flowrun.contract.base import ExecutorSuiteBase


class AttemptSemantics(ExecutorSuiteBase):
    """Attempts behave the same wherever they run."""

    def test_retries_record_every_attempt_and_report_flaky(self, project):
        project.write("flows/flow_r.py", """
            import os
            from flowrun import task
            @task(retries=3)
            def flaky(context):
                print("attempt", context.attempt)
                if context.attempt < 3:
                    raise RuntimeError(f"not yet {context.attempt}")
                return context.attempt
        """)
        result = self.flowrun(project, "-v")
        assert result.exit_code == 0, result.output
        assert result.result("flows/flow_r.py::flaky") == 3
        assert result.attempts("flows/flow_r.py::flaky") == 3
        assert "RETRIED flows/flow_r.py::flaky passed on attempt 3" in result.output
        rows = [(a.attempt, a.status, a.stdout, a.summary)
                for a in result.reports("flows/flow_r.py::flaky")]
        assert rows == [(1, "failed", "attempt 1\n", "RuntimeError: not yet 1"),
                        (2, "failed", "attempt 2\n", "RuntimeError: not yet 2"),
                        (3, "succeeded", "attempt 3\n", None)]

    def test_retry_delay_and_backoff(self, project):
        project.write("flows/flow_r.py", """
            import time
            from flowrun import task
            @task(retries=2, retry_delay=0.2, retry_backoff=2)
            def slow_to_work(context):
                if context.attempt < 3:
                    raise RuntimeError("again")
                return 1
        """)
        start = time.monotonic()
        result = self.flowrun(project)
        assert result.exit_code == 0, result.output
        assert time.monotonic() - start >= 0.6  # 0.2 then 0.4 seconds between attempts
        starts = [a.started for a in result.reports("flows/flow_r.py::slow_to_work")]
        assert starts[1] - starts[0] >= 0.2 and starts[2] - starts[1] >= 0.4

    def test_exhausted_retries_fail_the_task(self, project):
        project.write("flows/flow_r.py", """
            from flowrun import task
            @task(retries=1)
            def never(): raise ValueError("always")
        """)
        result = self.flowrun(project)
        assert result.exit_code == 1
        assert result.attempts("flows/flow_r.py::never") == 2
        assert "FAILED flows/flow_r.py::never - ValueError: always" in result.output

    def test_timeout_fails_the_attempt_and_counts_for_retries(self, project):
        project.write("flows/flow_t.py", """
            import time
            from flowrun import task
            @task(timeout=1.5, retries=1)
            def sleepy(context):
                if context.attempt == 1:
                    time.sleep(20)
                return "woke"
        """)
        start = time.monotonic()
        result = self.flowrun(project)
        assert result.exit_code == 0, result.output
        assert time.monotonic() - start < 15  # the run did not wait for the stuck attempt
        assert result.result("flows/flow_t.py::sleepy") == "woke"
        first = result.reports("flows/flow_t.py::sleepy")[0]
        assert first.attempt == 1 and first.status == "failed"
        assert first.summary.startswith("timed out after 1.5s")

    def test_skip_skips_downstream_and_stays_green(self, project):
        project.write("flows/flow_s.py", """
            from flowrun import task, skip
            @task
            def extract():
                try:
                    skip("nothing new today")
                except Exception:
                    raise AssertionError("skip() must not be caught by except Exception")
            @task
            def load(extract): return 1
            @task
            def other(): return 2
        """)
        result = self.flowrun(project, "-v")
        assert result.exit_code == 0, result.output
        assert result.status("flows/flow_s.py::extract") == "skipped"
        assert result.captured("flows/flow_s.py::extract")["reason"] == "nothing new today"
        assert result.status("flows/flow_s.py::load") == "skipped"
        assert result.captured("flows/flow_s.py::load")["reason"] == "upstream extract skipped"
        assert "1 succeeded, 2 skipped" in result.lines[-1]

    def test_context_carries_ids_and_captured_logger(self, project):
        project.write("flows/flow_c.py", """
            from flowrun import task
            @task
            def who(context):
                context.logger.info("hello from %s", context.task_name)
                return [context.task_id, context.flow_id, context.attempt, context.partition,
                        len(context.run_id)]
        """)
        result = self.flowrun(project)
        assert result.exit_code == 0, result.output
        assert result.result("flows/flow_c.py::who") == [
            "flows/flow_c.py::who", "flows/flow_c.py", 1, None, 12]
        assert "hello from who" in result.captured("flows/flow_c.py::who")["log"]

    def test_state_persists_across_runs_only_on_success(self, project):
        project.write("flows/flow_st.py", """
            import os
            from flowrun import task
            @task
            def count(context):
                context.state["runs"] = context.state.get("runs", 0) + 1
                context.state.setdefault("seen", []).append(context.state["runs"])
                if os.path.exists("fail"):
                    raise RuntimeError("this run's writes must not be kept")
                return dict(context.state)
        """)
        assert self.flowrun(project).exit_code == 0
        (project.path / "fail").write_text("")
        assert self.flowrun(project).exit_code == 1
        (project.path / "fail").unlink()
        result = self.flowrun(project)
        assert result.result("flows/flow_st.py::count") == {"runs": 2, "seen": [1, 2]}

    def test_run_key_reuses_a_stored_result(self, project):
        project.write("flows/flow_k.py", """
            from flowrun import task
            @task
            def day(when: str = "2026-11-01"): return when
            @task(run_key=lambda day: f"load-{day}")
            def load(day):
                print("loading", day)
                return f"rows of {day}"
            @task
            def use(load): return load.upper()
        """)
        first = self.flowrun(project)
        assert first.status("flows/flow_k.py::load") == "succeeded"
        second = self.flowrun(project)
        assert second.exit_code == 0
        assert second.status("flows/flow_k.py::load") == "cached"
        assert second.result("flows/flow_k.py::use") == "ROWS OF 2026-11-01"
        third = self.flowrun(project, "--param", "when=2026-11-02")
        assert third.status("flows/flow_k.py::load") == "succeeded"

    def test_option_hierarchy_decorator_then_flow_then_command_line(self, project):
        project.write("flows/flow_o.py", """
            from flowrun import Flow, task
            flow = Flow(retries=2)
            @task(retries=0)
            def shaky(context):
                raise RuntimeError(f"attempt {context.attempt}")
        """)
        assert self.flowrun(project).attempts("flows/flow_o.py::shaky") == 3  # Flow wins
        assert self.flowrun(project, "--retries", "1").attempts("flows/flow_o.py::shaky") == 2
        self.configure(project, "retries = 4\n")
        assert self.flowrun(project).attempts("flows/flow_o.py::shaky") == 5  # config file

    def test_unpicklable_result_fails_the_task_naming_its_type(self, project):
        project.write("flows/flow_u.py", """
            import threading
            from flowrun import task
            @task
            def lock(): return threading.Lock()
        """)
        result = self.flowrun(project)
        assert result.exit_code == 1
        assert "result of type _thread.lock cannot be stored" in result.output
