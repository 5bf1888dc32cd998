"""Execution semantics (API sections 2 and 4). Every test runs on every executor in
``tests/conftest.py`` EXECUTORS: the behaviour must not depend on where tasks run."""
from __future__ import annotations

import time


def run(project, executor, *args):
    return project.run(*executor, *args)


def test_retries_record_every_attempt_and_report_flaky(project, executor):
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
    result = run(project, executor, "-v")
    assert result.exit_code == 0, result.output
    assert result.result("flows/flow_r.py::flaky") == 3
    assert result.attempts("flows/flow_r.py::flaky") == 3
    assert "RETRIED flows/flow_r.py::flaky passed on attempt 3" in result.output
    rows = result._query("SELECT attempt, status, stdout, summary FROM attempts "
                         "WHERE task_id='flows/flow_r.py::flaky' ORDER BY attempt")
    assert rows == [(1, "failed", "attempt 1\n", "RuntimeError: not yet 1"),
                    (2, "failed", "attempt 2\n", "RuntimeError: not yet 2"),
                    (3, "succeeded", "attempt 3\n", None)]


def test_retry_delay_and_backoff(project, executor):
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
    result = run(project, executor)
    assert result.exit_code == 0, result.output
    assert time.monotonic() - start >= 0.6  # 0.2 then 0.4 seconds between attempts
    starts = [r[0] for r in result._query("SELECT started FROM attempts ORDER BY attempt")]
    assert starts[1] - starts[0] >= 0.2 and starts[2] - starts[1] >= 0.4


def test_exhausted_retries_fail_the_task(project, executor):
    project.write("flows/flow_r.py", """
        from flowrun import task
        @task(retries=1)
        def never(): raise ValueError("always")
    """)
    result = run(project, executor)
    assert result.exit_code == 1
    assert result.attempts("flows/flow_r.py::never") == 2
    assert "FAILED flows/flow_r.py::never - ValueError: always" in result.output


def test_timeout_fails_the_attempt_and_counts_for_retries(project, executor):
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
    result = run(project, executor)
    assert result.exit_code == 0, result.output
    assert time.monotonic() - start < 15  # the run did not wait for the stuck attempt
    assert result.result("flows/flow_t.py::sleepy") == "woke"
    first = result._query("SELECT status, summary FROM attempts WHERE attempt=1")[0]
    assert first[0] == "failed" and first[1].startswith("timed out after 1.5s")


def test_skip_skips_downstream_and_stays_green(project, executor):
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
    result = run(project, executor, "-v")
    assert result.exit_code == 0, result.output
    assert result.status("flows/flow_s.py::extract") == "skipped"
    assert result.captured("flows/flow_s.py::extract")["reason"] == "nothing new today"
    assert result.status("flows/flow_s.py::load") == "skipped"
    assert result.captured("flows/flow_s.py::load")["reason"] == "upstream extract skipped"
    assert "1 succeeded, 2 skipped" in result.lines[-1]


def test_run_if_conditions(project, executor):
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
    result = run(project, executor)
    assert result.exit_code == 1
    s = result.statuses()
    assert s["flows/flow_c.py::alert"] == "succeeded"
    assert s["flows/flow_c.py::no_alert"] == "skipped"
    assert s["flows/flow_c.py::cleanup"] == "succeeded"
    assert s["flows/flow_c.py::partial"] == "succeeded"
    assert s["flows/flow_c.py::hopeless"] == "skipped"
    assert "no upstream task succeeded" in result.captured("flows/flow_c.py::hopeless")["reason"]


def test_each_maps_over_upstream_result(project, executor):
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
    result = run(project, executor)
    assert result.exit_code == 0, result.output
    assert result.result("flows/flow_e.py::total") == [9, 1, 4]
    assert result.captured("flows/flow_e.py::square[1]")["stdout"] == "squaring 1\n"
    assert result.status("flows/flow_e.py::square[2]") == "succeeded"


def test_each_over_empty_list_gives_empty_list(project, executor):
    project.write("flows/flow_e.py", """
        from flowrun import task
        @task
        def items(): return []
        @task(each="items")
        def square(items): return items * items
        @task
        def total(square): return {"got": square}
    """)
    result = run(project, executor)
    assert result.exit_code == 0, result.output
    assert result.result("flows/flow_e.py::total") == {"got": []}


def test_one_failed_instance_fails_the_mapped_task_others_still_run(project, executor):
    project.write("flows/flow_e.py", """
        from flowrun import task
        @task
        def items(): return [1, 0, 2]
        @task(each="items")
        def invert(items): return 1 / items
        @task
        def total(invert): return sum(invert)
    """)
    result = run(project, executor)
    assert result.exit_code == 1
    assert result.status("flows/flow_e.py::invert[0]") == "succeeded"
    assert result.status("flows/flow_e.py::invert[1]") == "failed"
    assert result.status("flows/flow_e.py::invert[2]") == "succeeded"
    assert result.status("flows/flow_e.py::total") == "cancelled"
    assert "ZeroDivisionError" in result.output


def test_static_each_repeats_like_parametrize(project, executor):
    project.write("flows/flow_e.py", """
        from flowrun import task
        @task(each={"region": ["eu", "us"], "size": [1, 2]})
        def shard(region, size): return f"{region}{size}"
        @task
        def gather(shard): return shard
    """)
    result = run(project, executor)
    assert result.exit_code == 0, result.output
    assert result.result("flows/flow_e.py::gather") == ["eu1", "eu2", "us1", "us2"]


def test_each_over_a_non_list_fails_clearly(project, executor):
    project.write("flows/flow_e.py", """
        from flowrun import task
        @task
        def items(): return 5
        @task(each="items")
        def use(items): return items
    """)
    result = run(project, executor)
    assert result.exit_code == 1
    assert "each='items' needs a list (or other iterable) from task 'items', got int" \
        in result.output


def test_concurrency_group_limits_parallelism(project, executor):
    project.write("flowrun.toml", "[limits]\ndb = 2\n")
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
    result = run(project, executor, "-n", "6")
    assert result.exit_code == 0, result.output
    spans = result.result("flows/flow_l.py::spans")
    for start, _ in spans:
        running = sum(1 for s, e in spans if s <= start < e)
        assert running <= 2


def test_overlapping_groups_do_not_deadlock(project, executor):
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
    result = run(project, executor, "-n", "4")
    assert result.exit_code == 0, result.output
    assert "3 succeeded" in result.lines[-1]


def test_exitfirst_stops_starting_tasks(project, executor):
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
    result = run(project, executor, "-x", "-n", "2")
    assert result.exit_code == 1
    assert result.status("flows/flow_x.py::runs_long") == "succeeded"  # finished, not killed
    assert result.status("flows/flow_x.py::later") == "cancelled"
    assert "-x" in result.captured("flows/flow_x.py::later")["reason"]


def test_flow_fail_fast(project, executor):
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
    result = run(project, executor, "-n", "2")
    assert result.exit_code == 1
    assert result.status("flows/flow_x.py::later") == "cancelled"


def test_context_carries_ids_and_captured_logger(project, executor):
    project.write("flows/flow_c.py", """
        from flowrun import task
        @task
        def who(context):
            context.logger.info("hello from %s", context.task_name)
            return [context.task_id, context.flow_id, context.attempt, context.partition,
                    len(context.run_id)]
    """)
    result = run(project, executor)
    assert result.exit_code == 0, result.output
    assert result.result("flows/flow_c.py::who") == [
        "flows/flow_c.py::who", "flows/flow_c.py", 1, None, 12]
    assert "hello from who" in result.captured("flows/flow_c.py::who")["log"]


def test_state_persists_across_runs_only_on_success(project, executor):
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
    assert run(project, executor).exit_code == 0
    (project.path / "fail").write_text("")
    assert run(project, executor).exit_code == 1
    (project.path / "fail").unlink()
    result = run(project, executor)
    assert result.result("flows/flow_st.py::count") == {"runs": 2, "seen": [1, 2]}


def test_run_key_reuses_a_stored_result(project, executor):
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
    first = run(project, executor)
    assert first.status("flows/flow_k.py::load") == "succeeded"
    second = run(project, executor)
    assert second.exit_code == 0
    assert second.status("flows/flow_k.py::load") == "cached"
    assert second.result("flows/flow_k.py::use") == "ROWS OF 2026-11-01"
    third = run(project, executor, "--param", "when=2026-11-02")
    assert third.status("flows/flow_k.py::load") == "succeeded"


def test_option_hierarchy_decorator_then_flow_then_command_line(project, executor):
    project.write("flows/flow_o.py", """
        from flowrun import Flow, task
        flow = Flow(retries=2)
        @task(retries=0)
        def shaky(context):
            raise RuntimeError(f"attempt {context.attempt}")
    """)
    assert run(project, executor).attempts("flows/flow_o.py::shaky") == 3  # Flow wins
    assert run(project, executor, "--retries", "1").attempts("flows/flow_o.py::shaky") == 2
    project.write("flowrun.toml", "retries = 4\n")
    assert run(project, executor).attempts("flows/flow_o.py::shaky") == 5  # config file


def test_unpicklable_result_fails_the_task_naming_its_type(project, executor):
    project.write("flows/flow_u.py", """
        import threading
        from flowrun import task
        @task
        def lock(): return threading.Lock()
    """)
    result = run(project, executor)
    assert result.exit_code == 1
    assert "result of type _thread.lock cannot be stored" in result.output
