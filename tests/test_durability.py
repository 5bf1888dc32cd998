"""Durability: results in the store, resume after failure / Ctrl-C / kill -9, several
processes on one store."""
from __future__ import annotations

import random
import signal
import sqlite3
import time

import pytest

from flowrun.plugin import StoreError
from flowrun.testing import Result


def test_resume_reuses_what_succeeded_and_links_the_runs(project):
    project.write("flows/flow_r.py", """
        import os
        from flowrun import task
        @task
        def extract():
            with open("extract.count", "a") as f: f.write("x")
            return [1, 2]
        @task
        def load(extract):
            if not os.path.exists("ready"): raise RuntimeError("db down")
            return sum(extract)
    """)
    assert project.run().exit_code == 1
    (project.path / "ready").write_text("")
    result = project.run("--resume")
    assert result.exit_code == 0, result.output
    assert (project.path / "extract.count").read_text() == "x"  # not run again
    assert result.statuses() == {"flows/flow_r.py::extract": "cached",
                                 "flows/flow_r.py::load": "succeeded"}
    first, second = result.runs()
    assert second["resumed_from"] == first["id"] and second["status"] == "succeeded"
    assert "resuming run" in result.output and "1 task result reused" in result.output
    again = project.run("--resume")
    assert "nothing to resume" in again.output and again.exit_code == 0


def test_resume_reruns_tasks_whose_code_changed_and_their_downstream(project):
    flow = """
        from flowrun import task
        @task
        def a(): return {a_value}
        @task
        def b(a): return a + 1
        @task
        def c(b):
            raise RuntimeError("c fails")
        @task
        def side(): return "side"
    """
    project.write("flows/flow_c.py", flow.format(a_value=1))
    project.run()
    project.write("flows/flow_c.py", flow.format(a_value=10))
    result = project.run("--resume")
    assert "code changed, running again: a" in result.output
    s = result.statuses()
    assert s["flows/flow_c.py::a"] == "succeeded" and s["flows/flow_c.py::b"] == "succeeded"
    assert s["flows/flow_c.py::side"] == "cached"
    assert result.result("flows/flow_c.py::b") == 11


def test_resume_a_given_run_id(project):
    project.write("flows/flow_r.py", """
        from flowrun import task
        @task
        def t(): raise RuntimeError("no")
    """)
    project.run()
    run_id = project.run("history").lines[1].split()[0]
    result = project.run("--resume", run_id[:5])
    assert result.runs()[-1]["resumed_from"] == run_id


def test_large_result_lives_in_a_content_addressed_file(project):
    project.write("flows/flow_big.py", """
        from flowrun import task
        @task
        def big(): return b"x" * 200_000
        @task
        def size(big): return len(big)
    """)
    result = project.run()
    assert result.exit_code == 0, result.output
    (report,) = result.reports("flows/flow_big.py::big")
    assert report.result_ref
    database = [project.store, project.store.with_name("flowrun.db-wal")]
    assert sum(p.stat().st_size for p in database if p.exists()) < 200_000  # not inline
    stored = project.path / ".flowrun" / "results" / report.result_ref
    assert stored.stat().st_size > 200_000
    assert oct(stored.stat().st_mode & 0o777) == "0o600"
    assert result.result("flows/flow_big.py::size") == 200_000
    # the file-backed result is what a resumed run gets back
    project.write("flows/flow_big.py", (project.path / "flows/flow_big.py").read_text()
                  + "@task\ndef boom(size): raise ValueError(size)\n")
    project.run()
    project.write("flows/flow_big.py", (project.path / "flows/flow_big.py").read_text()
                  .replace("raise ValueError(size)", "return size + len(big_again)")
                  .replace("def boom(size)", "def boom(size, big_again=None)")
                  .replace("+ len(big_again)", ""))
    resumed = project.run("--resume")
    assert resumed.exit_code == 0, resumed.output
    assert resumed.status("flows/flow_big.py::big") == "cached"


def test_max_result_size_fails_the_task_clearly(project):
    project.write("flowrun.toml", "max_result_size = 1000\n")
    project.write("flows/flow_big.py", """
        from flowrun import task
        @task
        def big(): return "y" * 5000
    """)
    result = project.run()
    assert result.exit_code == 1
    assert "result is 4.9 KiB, over max_result_size 1000 bytes" in result.output


def test_several_processes_share_one_store(project):
    project.write("flows/flow_p.py", """
        from flowrun import task
        @task
        def items(): return list(range(50))
        @task(each="items")
        def square(items): return items * items
    """)
    procs = [project.popen("-q") for _ in range(4)]
    outputs = [p.communicate(timeout=60) for p in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, out + err
        assert "locked" not in out + err
    result = Result(0, "", "", project.store)
    assert [r["status"] for r in result.runs()] == ["succeeded"] * 4


def test_second_ctrl_c_abandons_running_tasks(project):
    project.write("flows/flow_s.py", """
        import time
        from flowrun import task
        @task
        def stuck():
            time.sleep(30)
    """)
    proc = project.popen()
    _wait_for_running(project, "flows/flow_s.py::stuck")
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 2, out + err
    result = Result(2, out, err, project.store)
    assert result.runs()[-1]["status"] == "interrupted"
    assert result.status("flows/flow_s.py::stuck") == "failed"


def _wait_for_running(project, task_id: str, timeout: float = 20) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with project.storage() as store:
                if store is not None and any(
                        a.task_id == task_id and a.status == "running"
                        for run in store.list_runs() for a in store.attempts(run.id)):
                    return
        except StoreError:  # busy: the run is writing
            pass
        time.sleep(0.05)
    raise AssertionError(f"{task_id} never started")


KILL_FLOW = """
    import os, time
    from flowrun import task

    def mark(name):
        with open(os.path.join("marks", name), "a") as f:
            f.write(f"{time.time()}\\n")
        time.sleep(0.05)

    @task
    def a(): mark("a"); return 1
    @task
    def b(a): mark("b"); return a + 1
    @task
    def c(a): mark("c"); return a + 2
    @task(each="a_list")
    def d(a_list): mark(f"d{a_list}"); return a_list
    @task
    def a_list(b, c): mark("a_list"); return list(range(b + c))
    @task
    def e(d): mark("e"); return sum(d)
    @task
    def f(e, c): mark("f"); return e * c
"""


@pytest.mark.slow
def test_kill_9_at_random_moments_then_resume(project):
    """20+ kills at random moments; in the end every task succeeded, and no task that
    had been recorded succeeded ever ran again."""
    project.write("flows/flow_k.py", KILL_FLOW)
    (project.path / "marks").mkdir()
    rng = random.Random(1234)
    first = True
    for _ in range(22):
        proc = project.popen(*([] if first else ["--resume"]), "-q")
        first = False
        time.sleep(rng.uniform(0.0, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=20)
        _check_integrity(project.store)
    for _ in range(10):
        final = project.run_subprocess("--resume", "-q")
        _check_integrity(project.store)
        if final.exit_code == 0 and "nothing to resume" not in final.output:
            break
        if "nothing to resume" in final.output:
            break
    result = Result(0, "", "", project.store)
    last = result.runs()[-1]
    assert last["status"] == "succeeded", result.runs()
    assert result.result("flows/flow_k.py::f") == (sum(range(5)) * 3)
    _assert_no_task_ran_after_its_recorded_success(project, result)


def _check_integrity(store) -> None:
    """The database file itself (so opened directly): intact after every kill."""
    if store.exists():
        with sqlite3.connect(store) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _assert_no_task_ran_after_its_recorded_success(project, result: Result) -> None:
    rows = [(a.task_id, a.finished) for a in result.reports()
            if a.status == "succeeded" and a.attempt > 0]  # 0: a mapped task's own row
    succeeded: dict[str, list[float]] = {}
    for task_id, finished in rows:
        succeeded.setdefault(task_id.rpartition("::")[2].replace("[", "").replace("]", ""),
                             []).append(finished)
    for name, finishes in succeeded.items():
        assert len(finishes) == 1, f"{name} was recorded succeeded {len(finishes)} times"
        marks = (project.path / "marks" / name).read_text().split()
        assert all(float(m) <= finishes[0] for m in marks), f"{name} ran after its success"
