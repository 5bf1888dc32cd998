"""Chains and fan-outs on the thread executor, where a worker that finished an attempt
does the engine's bookkeeping and starts what became ready itself: every step still
runs after its parent, is recorded, and hands over to the scheduler thread whatever
only it may start (another executor, timers, a failure)."""
from __future__ import annotations

import pytest

CHAIN = 60
#: Long enough for the scheduler thread to have flushed the store and gone to sleep with
#: no deadline when the worker finishes: only a wake-up from the worker gets it going.
SETTLED = "import time; time.sleep(0.3)"


def chain_flow(steps: int, last: str = "") -> str:
    lines = ["from flowrun import task", "@task", "def s0(): return 0"]
    for i in range(1, steps):
        lines += ["@task", f"def s{i}(s{i - 1}): return s{i - 1} + 1"]
    return "\n".join(lines) + "\n" + last


def test_a_long_chain_runs_each_step_after_its_parent_and_records_each(project):
    project.write("flows/flow_chain.py", chain_flow(CHAIN))
    result = project.run("-n", "4")
    assert result.exit_code == 0, result.output
    assert result.result(f"flows/flow_chain.py::s{CHAIN - 1}") == CHAIN - 1
    reports = {r.task_id.rpartition("::")[2]: r for r in result.reports()}
    assert len(reports) == CHAIN
    for i in range(1, CHAIN):
        assert reports[f"s{i}"].started >= reports[f"s{i - 1}"].finished


@pytest.mark.timeout(30)
def test_a_thread_task_hands_its_successor_on_another_executor_to_the_scheduler(project):
    project.write("flows/flow_mixed.py", chain_flow(5, """
@task
def late(s4):
    """ + SETTLED + """
    return s4
@task(executor="process")
def far(late): return late * 10
@task
def back(far): return far + 1
"""))
    result = project.run()
    assert result.exit_code == 0, result.output
    assert result.result("flows/flow_mixed.py::back") == 41


@pytest.mark.timeout(30)
def test_a_retry_delay_set_on_a_worker_still_wakes_the_scheduler(project):
    project.write("flows/flow_retry.py", f"""
        from flowrun import task
        @task
        def first():
            {SETTLED}
            return 1
        @task(retries=1, retry_delay=0.2)
        def flaky(first, context):
            if context.attempt == 1:
                raise RuntimeError("once")
            return first + 1
    """)
    result = project.run()
    assert result.exit_code == 0, result.output
    assert result.attempts("flows/flow_retry.py::flaky") == 2
    assert result.result("flows/flow_retry.py::flaky") == 2


@pytest.mark.timeout(30)
def test_a_timeout_of_a_task_started_on_a_worker_fires(project):
    project.write("flows/flow_slow.py", f"""
        import time
        from flowrun import task
        @task
        def first():
            {SETTLED}
            return 1
        @task(timeout=0.3)
        def slow(first): time.sleep(30)
    """)
    result = project.run()
    assert result.exit_code == 1
    assert result.status("flows/flow_slow.py::slow") == "failed"
    assert "timed out after 0.3s" in result.captured("flows/flow_slow.py::slow")["error"]


def test_x_stops_a_fan_out_whose_failure_came_back_on_a_worker(project):
    project.write("flows/flow_fan.py", "\n".join(
        ["from flowrun import task", "@task", "def root(): return 0"]
        + [line for i in range(30) for line in (
            "@task", f"def leaf{i}(root):\n    if {i} == 3: raise ValueError('leaf')\n"
                     f"    return {i}")]))
    result = project.run("-x", "-n", "1")
    assert result.exit_code == 1
    statuses = result.statuses()
    assert statuses["flows/flow_fan.py::leaf3"] == "failed"
    assert "cancelled" in statuses.values()
    assert all(s in ("succeeded", "failed", "cancelled") for s in statuses.values())
