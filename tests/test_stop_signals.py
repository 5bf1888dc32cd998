"""SIGTERM, SIGHUP and SIGINT stop a run the same way (API section 5): the first says at
once what still runs, nothing new starts, running tasks get ``interrupt_grace`` seconds,
then they are stopped with what they started, the run is ``interrupted``, exit 2, and
``--resume`` finishes it."""
from __future__ import annotations

import os
import signal
import time

import pytest

from flowrun.testing import Result

LONG = """
    import os, pathlib, subprocess, time
    from flowrun import task

    @task
    def long():
        child = subprocess.Popen(["sleep", "300"])
        pathlib.Path("child.pid").write_text(str(child.pid))
        if not pathlib.Path("fast").exists():
            time.sleep(60)
        return 1

    @task
    def after(long):
        return long + 1
"""


def _wait_for(path, timeout: float = 60) -> None:
    """Until ``path`` exists and holds something (it is written after it is made)."""
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.stat().st_size):
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.02)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is gone for our purposes
        return f.read().split()[2] != "Z"


@pytest.mark.parametrize("sig", [signal.SIGTERM, *(pytest.param(s, marks=pytest.mark.slow)
                                                   for s in (signal.SIGHUP, signal.SIGINT))])
@pytest.mark.parametrize("where", ["thread", "process"])
def test_a_stop_signal_waits_the_grace_then_stops_and_resume_finishes(project, sig, where):
    project.write("flowrun.toml", "interrupt_grace = 1\n")
    project.write("flows/flow_s.py", LONG)
    proc = project.popen("--executor", where)
    _wait_for(project.path / "child.pid")
    child = int((project.path / "child.pid").read_text())
    sent = time.monotonic()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    took = time.monotonic() - sent
    result = Result(proc.returncode, out, err, project.store)
    assert result.exit_code == 2, result.output
    assert took < 1 + 1.5, took  # the grace, plus a second at most
    assert f"{sig.name}: no new task starts; waiting up to 1s for 1 running: " \
           "flows/flow_s.py::long" in out
    assert "Traceback" not in out + err
    assert result.runs()[-1]["status"] == "interrupted"
    assert result.status("flows/flow_s.py::long") == "failed"
    assert result.status("flows/flow_s.py::after") == "cancelled"
    if where == "process":  # the worker's whole process group went with it
        deadline = time.monotonic() + 5
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child), "the task's child outlived it"
    else:
        os.kill(child, signal.SIGKILL)
    (project.path / "fast").touch()
    resumed = project.run_subprocess("--resume", "--executor", where)
    assert resumed.exit_code == 0, resumed.output
    assert resumed.status("flows/flow_s.py::after") == "succeeded"


def test_a_second_signal_stops_running_tasks_at_once(project):
    project.write("flows/flow_s.py", LONG)  # the default grace: 10 s
    proc = project.popen()
    _wait_for(project.path / "child.pid")
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2, out + err
    assert time.monotonic() - sent < 2
    os.kill(int((project.path / "child.pid").read_text()), signal.SIGKILL)
