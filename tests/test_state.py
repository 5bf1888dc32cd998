"""``context.state`` (API section 4): a task's writes are merged key by key when it
succeeds, read-modify-write never interleaves across runs, and a value that cannot be
stored fails the task naming the key."""
from __future__ import annotations

from all_executors import executor  # noqa: F401 - the fixture

from flowrun.plugin import results
from flowrun.testing import Result

COUNTER = """
    import os
    from flowrun import task
    @task
    def bump(context):
        n = context.state.get("n", 0)
        context.state["n"] = n + 1
        context.state[f"seen.{os.getpid()}"] = True
"""


def _stored(project, flow_id: str) -> dict:
    with Result(0, "", "", project.store).storage() as store:
        stored = store.get_state(flow_id)
    return {key: results.loads(value, fmt) for key, (value, fmt) in stored.items()}


def _state(project) -> dict:
    return _stored(project, "flows/flow_n.py") or _stored(project, "flows/flow_s.py")


def test_twenty_concurrent_runs_counting_end_at_twenty_and_keep_every_key(project):
    _race(project, 20, [])


def test_concurrent_runs_on_the_process_executor_count_exactly_too(project):
    _race(project, 6, ["--executor", "process"])


def _race(project, runs: int, extra: list[str]) -> None:
    project.write("flows/flow_n.py", COUNTER)
    first = project.run_subprocess("-q", *extra)  # the store exists before the race
    assert first.exit_code == 0, first.output
    procs = [project.popen("-q", *extra) for _ in range(runs)]
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, out + err
    state = _state(project)
    assert state["n"] == runs + 1
    assert len([k for k in state if k.startswith("seen.")]) == runs + 1


def test_concurrent_tasks_of_one_run_take_turns_on_state(project):
    project.write("flows/flow_n.py", """
        import time
        from flowrun import task
        @task(each={"i": list(range(8))})
        def bump(i, context):
            n = context.state.get("n", 0)
            time.sleep(0.01)
            context.state["n"] = n + 1
            context.state[f"k{i}"] = i
    """)
    assert project.run("-n", "8").exit_code == 0
    state = _state(project)
    assert state["n"] == 8 and all(state[f"k{i}"] == i for i in range(8))


def test_a_failed_task_writes_nothing_and_others_keys_stay(project, executor):
    project.write("flows/flow_s.py", """
        from flowrun import task
        @task
        def keep(context): context.state["kept"] = 1
        @task
        def fail(keep, context):
            context.state["dropped"] = 1
            raise RuntimeError("no")
    """)
    project.write("flows/flow_other.py", """
        from flowrun import task
        @task
        def other(context): context.state["mine"] = 2
    """)
    project.run(*executor)
    project.write("flows/flow_s.py", """
        from flowrun import task
        @task
        def keep(context): context.state["second"] = 2
    """)
    assert project.run("flows/flow_s.py", *executor).exit_code == 0
    assert _stored(project, "flows/flow_s.py") == {"kept": 1, "second": 2}
    assert _stored(project, "flows/flow_other.py") == {"mine": 2}


def test_a_value_that_cannot_be_stored_fails_the_task_naming_the_key(project, executor):
    project.write("flows/flow_s.py", """
        import threading
        from flowrun import task
        @task
        def t(context):
            context.state["fine"] = 1
            context.state["lock"] = threading.Lock()
    """)
    result = project.run(*executor)
    assert result.exit_code == 1
    assert result.status("flows/flow_s.py::t") == "failed"
    assert "context.state['lock']: a value of type _thread.lock cannot be stored" \
        in result.output
    assert _state(project) == {}


def test_a_child_touching_state_its_parent_holds_fails_instead_of_hanging(project):
    project.write("flows/flow_s.py", """
        from flowrun import task, submit
        def child(context): context.state["c"] = 1
        @task
        def parent(context):
            context.state["p"] = 1
            return submit(child).result()
    """)
    result = project.run()
    assert result.exit_code == 1
    assert "context.state of flows/flow_s.py is held by flows/flow_s.py::parent" \
        in result.output
