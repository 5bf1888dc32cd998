"""kill -9 at random moments of a flow with a fan-out, submitted children and a
repeated subflow, then ``--resume`` until it succeeds: no node recorded succeeded ever
runs again, the store stays intact, and no worker outlives its flowrun process."""
from __future__ import annotations

import os
import random
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from flowrun.testing import Result

MARKS = """
import os, time
def mark(context):
    name = context.task_id.replace("/", "_").replace(":", "_")
    with open(os.path.join(os.environ["MARKS_DIR"], name), "a") as f:
        f.write(f"{time.time()}\\n")
    time.sleep(0.04)
"""

FLOW = """
from flowrun import task, submit, run_flow
from marks import mark

@task
def a(context): mark(context); return 3
@task
def a_list(a, context): mark(context); return list(range(a + 3))
@task(each="a_list")
def d(a_list, context): mark(context); return a_list * 2

def fetch(n, context): mark(context); return n + 1

@task
def parent(a, context):
    mark(context)
    futures = [submit(fetch, n) for n in range(a + 1)]
    return sum(f.result() for f in futures)

@task(each={"i": [1, 2, 3]})
def loop(i, context):
    mark(context)
    return run_flow("flow_body.py", i=i)["second"]

@task
def end(d, parent, loop, context): mark(context); return [sum(d), parent, loop]
"""

BODY = """
from flowrun import task
from marks import mark

@task
def first(context, i=0): mark(context); return i * 10
@task
def second(first, context, i=0): mark(context); return first + i
"""

EXPECTED = [30, 10, [11, 22, 33]]


def _write(project) -> None:
    project.write("flows/marks.py", MARKS)
    project.write("flows/flow_k.py", FLOW)
    project.write("flows/flow_body.py", BODY)
    (project.path / "marks").mkdir()


def _sweep(project, kills: int, extra: list[str], window: float, seed: int) -> Result:
    env = {"MARKS_DIR": str(project.path / "marks")}
    rng = random.Random(seed)
    target = "flows/flow_k.py"
    def args() -> list[str]:  # resume once a run was recorded
        runs = Result(0, "", "", project.store).runs()  # opening it finishes the schema
        return ["--resume", target] if runs else [target]

    for _ in range(kills):
        proc = project.popen(*args(), "-q", "-n", "4", *extra, env=env)
        time.sleep(rng.uniform(0.05, window))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        _assert_no_orphans(project.path)
        _check_integrity(project.store)
    for _ in range(10):
        final = project.run_subprocess(*args(), "-q", *extra, env=env)
        _check_integrity(project.store)
        if final.exit_code == 0 or "nothing to resume" in final.output:
            break
        print(final.output)
    _assert_no_orphans(project.path)
    return Result(0, "", "", project.store)


def _check(project, result: Result) -> int:
    """Assert the sweep's outcome; return how many nodes ran more than once."""
    assert result.runs()[-1]["status"] == "succeeded", result.runs()
    assert result.result("flows/flow_k.py::end") == EXPECTED
    succeeded: dict[str, list[float]] = {}
    with result.storage() as store:
        for run in store.list_runs():
            for a in store.attempts(run.id):  # attempt 0: a mapped task's own row
                if a.status == "succeeded" and a.attempt > 0:
                    succeeded.setdefault(a.task_id, []).append(a.finished)
    assert any("::parent::fetch[" in t for t in succeeded)
    assert any("::flow_body::second" in t for t in succeeded)
    for task_id, finishes in succeeded.items():
        assert len(finishes) == 1, f"{task_id} was recorded succeeded {len(finishes)} times"
        name = task_id.replace("/", "_").replace(":", "_")
        marks = (project.path / "marks" / name).read_text().split()
        assert all(float(m) <= finishes[0] for m in marks), f"{task_id} ran after its success"
    return sum(len((project.path / "marks" / m).read_text().split()) > 1
               for m in os.listdir(project.path / "marks"))


def _check_integrity(store: Path) -> None:
    if store.exists():
        with sqlite3.connect(store) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _assert_no_orphans(folder: Path, wait: float = 10.0) -> None:
    """No process of ours still works in the project folder (a worker left behind)."""
    deadline = time.time() + wait
    while True:
        left = [pid for pid in _pids_in(folder) if pid != os.getpid()]
        if not left or time.time() > deadline:
            break
        time.sleep(0.05)
    assert not left, f"processes left behind in {folder}: {left}"


def _pids_in(folder: Path) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/cwd") == str(folder):
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


@pytest.mark.parametrize("extra", [
    [], pytest.param(["--executor", "process"], marks=pytest.mark.slow)],  # as the sweep below
    ids=["thread", "process"])
def test_kill_9_a_few_times_then_resume_reruns_nothing_that_succeeded(project, extra):
    _write(project)
    window = 1.0 if not extra else 2.0
    _check(project, _sweep(project, 8, extra, window, seed=8))


@pytest.mark.slow
@pytest.mark.parametrize("extra", [[], ["--executor", "process"]], ids=["thread", "process"])
def test_kill_9_at_fifty_random_moments_then_resume(project, extra):
    _write(project)
    window = 1.0 if not extra else 2.0
    started = time.time()
    reran = _check(project, _sweep(project, 50, extra, window, seed=50))
    print(f"\n50 kills ({extra or 'thread'}): {time.time() - started:.0f}s, "
          f"{reran} nodes started more than once (never after a recorded success)")


def test_a_run_whose_process_was_killed_is_interrupted_in_history_show_and_resume(project):
    project.write("flows/flow_slow.py", """
        import time
        from flowrun import task
        @task
        def slow(): time.sleep(30)
    """)
    proc = project.popen("flows/flow_slow.py")
    _wait_for_a_run(project)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=20)
    run_id = Result(0, "", "", project.store).runs()[0]["id"]
    assert "interrupted" in project.run("history").lines[1]
    assert f"run {run_id}  flows/flow_slow.py  interrupted" in project.run("show", run_id).output
    project.write("flows/flow_slow.py", """
        from flowrun import task
        @task
        def slow(): return 1
    """)
    resumed = project.run("--resume", "flows/flow_slow.py")
    assert f"resuming run {run_id} (interrupted)" in resumed.output
    assert resumed.exit_code == 0


def _wait_for_a_run(project, timeout: float = 20) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if project.store.exists() and Result(0, "", "", project.store).runs():
            return
        time.sleep(0.05)
    raise AssertionError("no run was recorded")
