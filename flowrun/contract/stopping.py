"""Executor suite, part three: stopping (API section 5), with real signals sent to a
real ``flowrun`` process. The first Ctrl-C lets a running task with a ``timeout=`` finish
(no timer fires because of a signal); the second stops it at once."""
from __future__ import annotations

import signal
import time
from pathlib import Path

from flowrun.contract.base import ExecutorSuiteBase

SLEEPER = """
    import pathlib, time
    from flowrun import task

    @task(timeout=30)
    def sleeper():
        pathlib.Path("started").touch()
        time.sleep({seconds})
        return "woke"

    @task
    def after(sleeper):
        return sleeper
"""


def _wait_for(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.02)


class StopSemantics(ExecutorSuiteBase):
    """Ctrl-C stops a run the same way wherever its tasks run."""

    def _interrupted(self, project, seconds: float, signals: int, after: float):
        from flowrun.testing import Result

        project.write("flows/flow_i.py", SLEEPER.format(seconds=seconds))
        proc = project.popen(*self._args)
        _wait_for(project.path / "started")
        time.sleep(after)
        for i in range(signals):
            time.sleep(0.3 if i else 0)
            proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=90)
        return Result(proc.returncode, out, err, project.store)

    def test_first_ctrl_c_lets_a_task_with_a_timeout_finish(self, project):
        result = self._interrupted(project, seconds=3, signals=1, after=1.5)
        assert result.exit_code == 2, result.output
        assert "timed out" not in result.output and "Traceback" not in result.output
        assert result.runs()[-1]["status"] == "interrupted"
        assert result.result("flows/flow_i.py::sleeper") == "woke"
        assert result.status("flows/flow_i.py::after") == "cancelled"

    def test_second_ctrl_c_stops_a_task_with_a_timeout(self, project):
        start = time.monotonic()
        result = self._interrupted(project, seconds=60, signals=2, after=0.2)
        assert time.monotonic() - start < 30
        assert result.exit_code == 2, result.output
        assert "timed out" not in result.output
        assert result.runs()[-1]["status"] == "interrupted"
        assert result.status("flows/flow_i.py::sleeper") == "failed"
