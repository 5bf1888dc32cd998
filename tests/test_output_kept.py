"""Output is kept up to a kill (API section 5): a task that times out, is stopped by a
stop signal, or whose worker dies keeps every line it printed (stdout, stderr) and
logged until then, on every executor; and a thread abandoned after its timeout never
writes to flowrun's terminal nor into another task's output afterwards."""
from __future__ import annotations

import os
import pathlib
import signal
import time

import pytest
from all_executors import executor  # noqa: F401

from flowrun.testing import Result

PRINTS_THEN_HANGS = """
    import logging, os, pathlib, sys, time
    from flowrun import task

    @task(timeout={timeout})
    def hang():
        print("out: before the end")
        print("err: before the end", file=sys.stderr)
        logging.getLogger("hang").warning("log: before the end")
        pathlib.Path("hang.pid").write_text(str(os.getpid()))
        time.sleep(60)
"""

TASK = "flows/flow_h.py::hang"


def _wait_for(path: pathlib.Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.stat().st_size):
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.02)


def _assert_kept(project, result: Result) -> None:
    report = result.reports(TASK)[-1]
    assert report.status == "failed"
    assert "out: before the end" in report.stdout, report
    assert "err: before the end" in report.stderr, report
    assert "log: before the end" in report.log, report
    run_id = result.runs()[-1]["id"]
    logs = project.run("logs", run_id, TASK).output
    assert "out: before the end" in logs and "log: before the end" in logs


def test_a_timed_out_task_keeps_what_it_printed(project, executor):  # noqa: F811
    project.write("flows/flow_h.py", PRINTS_THEN_HANGS.format(timeout=2))
    result = project.run_subprocess(*executor)
    assert result.exit_code == 1, result.output
    assert "timed out after 2s" in result.output
    _assert_kept(project, result)


@pytest.mark.parametrize("sig", [signal.SIGTERM])  # every stop signal stops alike
def test_a_task_stopped_by_a_signal_keeps_what_it_printed(project, executor, sig):  # noqa: F811
    project.write("flowrun.toml", "interrupt_grace = 0.3\n")
    project.write("flows/flow_h.py", PRINTS_THEN_HANGS.format(timeout=None))
    proc = project.popen(*executor)
    _wait_for(project.path / "hang.pid")
    time.sleep(0.2)  # the lines reach the coordinator (a frame over ssh)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    result = Result(proc.returncode, out, err, project.store)
    assert result.exit_code == 2, result.output
    _assert_kept(project, result)


@pytest.mark.parametrize("where", ["process", "ssh"])
def test_a_task_whose_worker_is_killed_keeps_what_it_printed(project, where, request):
    args = ["--executor", "process"] if where == "process" else \
        request.getfixturevalue("ssh_executor_args")
    project.write("flows/flow_h.py", PRINTS_THEN_HANGS.format(timeout=None))
    proc = project.popen(*args)
    _wait_for(project.path / "hang.pid")
    time.sleep(0.2)
    os.kill(int((project.path / "hang.pid").read_text()), signal.SIGKILL)
    out, err = proc.communicate(timeout=60)
    result = Result(proc.returncode, out, err, project.store)
    assert result.exit_code == 1, result.output
    _assert_kept(project, result)


def test_an_abandoned_thread_prints_nowhere_after_its_timeout(project):
    project.write("flows/flow_a.py", """
        import logging, sys, time
        from flowrun import task

        @task(timeout=0.5)
        def slow():
            print("slow: in time")
            time.sleep(1.0)
            print("LATE stdout")
            print("LATE stderr", file=sys.stderr)
            logging.getLogger("slow").warning("LATE log")

        @task
        def other():
            time.sleep(2.0)  # runs while slow's thread prints, then a little longer
            print("other: mine")
    """)
    result = project.run_subprocess("-n", "2")
    assert result.exit_code == 1, result.output
    assert "LATE" not in result.output
    slow = result.reports("flows/flow_a.py::slow")[-1]
    other = result.reports("flows/flow_a.py::other")[-1]
    assert "slow: in time" in slow.stdout and "LATE" not in slow.stdout + slow.stderr
    assert "LATE" not in other.stdout + other.stderr + other.log
    assert "other: mine" in other.stdout


def test_an_abandoned_thread_prints_nowhere_after_the_session(project):
    project.write("flowconf.py", """
        import time

        def flowrun_unconfigure(config):
            time.sleep(1.5)  # flowrun is still up when the abandoned thread prints
    """)
    project.write("flows/flow_a.py", """
        import logging, sys, time
        from flowrun import task

        @task(timeout=0.3)
        def slow():
            time.sleep(0.8)
            print("LATE stdout")
            print("LATE stderr", file=sys.stderr)
            logging.getLogger("slow").warning("LATE log")
    """)
    result = project.run_subprocess()
    assert result.exit_code == 1, result.output
    assert "timed out" in result.output and "LATE" not in result.output


@pytest.mark.parametrize("where", ["thread",
                                   pytest.param("process", marks=pytest.mark.slow)])
def test_output_kept_at_a_timeout_respects_max_output_size(project, where):
    project.write("flowrun.toml", "max_output_size = 2000\n")
    project.write("flows/flow_h.py", """
        import time
        from flowrun import task

        @task(timeout=2)
        def hang():
            for i in range(3000):
                print(f"line {i}")
            time.sleep(60)
    """)
    result = project.run_subprocess("--executor", where)
    assert result.exit_code == 1, result.output
    stdout = result.reports(TASK)[-1].stdout
    assert "line 0\n" in stdout and "line 2999\n" in stdout
    assert "dropped: over max_output_size" in stdout and len(stdout) < 2200


def test_a_timed_out_process_task_keeps_what_its_subprocesses_printed(project):
    project.write("flows/flow_h.py", """
        import subprocess, time
        from flowrun import task

        @task(timeout=2)
        def hang():
            subprocess.run(["echo", "from a subprocess"], check=True)
            time.sleep(60)
    """)
    result = project.run_subprocess("--executor", "process")
    assert result.exit_code == 1, result.output
    assert "from a subprocess" in result.reports(TASK)[-1].stdout


def test_with_s_an_abandoned_thread_prints_nowhere_after_its_timeout(project):
    project.write("flowconf.py", """
        import time

        def flowrun_unconfigure(config):
            time.sleep(1.5)  # flowrun is still up when the abandoned thread prints
    """)
    project.write("flows/flow_a.py", """
        import sys, time
        from flowrun import task

        @task(timeout=0.3)
        def slow():
            print("slow: in time")
            time.sleep(0.8)
            print("LATE stdout")
            print("LATE stderr", file=sys.stderr)
    """)
    result = project.run_subprocess("-s")
    assert result.exit_code == 1, result.output
    assert "slow: in time" in result.output and "LATE" not in result.output
