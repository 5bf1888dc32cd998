"""Ctrl-C (API section 5, "Stopping"), sent as a real SIGINT to a real flowrun process:
the first stops new work and lets running tasks finish, settles waiting retries, and
fires no timer; the second abandons what still runs. (What must hold on every executor
is in the executor suite, flowrun/contract/stopping.py.)"""
from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from flowrun.testing import Result

SLEEPER = """
    import pathlib, time
    from flowrun import task
    @task(timeout=30)
    def sleeper():
        pathlib.Path("{started}").touch()
        time.sleep(3)
        return "woke"
    @task
    def after(sleeper): return sleeper
"""


def _wait_for(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.02)


def _interrupt(project, proc, signals: int = 1) -> Result:
    for i in range(signals):
        if i:
            time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    return Result(proc.returncode, out, err, project.store)


def test_first_ctrl_c_settles_a_waiting_retry_with_its_last_status(project):
    started = project.path / "started"
    project.write("flows/flow_r.py", f"""
        import pathlib
        from flowrun import task
        @task(retries=3, retry_delay=60)
        def flaky():
            pathlib.Path("{started}").touch()
            raise RuntimeError("not yet")
    """)
    proc = project.popen()
    _wait_for(started)
    time.sleep(0.5)  # the first attempt has failed; the retry waits its 60 s
    start = time.monotonic()
    result = _interrupt(project, proc)
    assert time.monotonic() - start < 20  # the retry delay was not waited out
    assert result.exit_code == 2, result.output
    assert result.runs()[-1]["status"] == "interrupted"
    assert result.status("flows/flow_r.py::flaky") == "failed"
    assert result.attempts("flows/flow_r.py::flaky") == 1
    assert "RuntimeError: not yet" in result.output


def test_a_timeout_still_applies_after_the_first_ctrl_c(project):
    started = project.path / "started"
    project.write("flows/flow_t.py", f"""
        import pathlib, time
        from flowrun import task
        @task(timeout=1.5)
        def stuck():
            pathlib.Path("{started}").touch()
            time.sleep(30)
    """)
    proc = project.popen()
    _wait_for(started)
    time.sleep(0.3)
    start = time.monotonic()
    result = _interrupt(project, proc)
    assert time.monotonic() - start < 20  # the timeout ended it, not the 30 s sleep
    assert result.exit_code == 2, result.output
    assert result.status("flows/flow_t.py::stuck") == "failed"
    assert "timed out after 1.5s" in result.output


@pytest.mark.slow
def test_ctrl_c_stops_a_run_started_with_sigint_ignored(project):
    """A background job of a shell inherits SIGINT ignored (FIELD-NOTES); flowrun sets
    its own handler, so Ctrl-C (or ``kill -INT``) still stops the run."""
    started = project.path / "started"
    project.write("flows/flow_i.py", SLEEPER.format(started=started))
    proc = project.popen(preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    _wait_for(started)
    result = _interrupt(project, proc)
    assert result.exit_code == 2, result.output
    assert result.runs()[-1]["status"] == "interrupted"
    assert result.status("flows/flow_i.py::after") == "cancelled"
