"""A third party's executor, written only against ``flowrun.plugin`` (as an installed
plugin would be): every attempt runs in a fresh thread of its own, never reused.

Load it with ``-p thirdparty_executor`` and pick it with ``--executor fresh``.
tests/test_thirdparty_executor.py runs flowrun's whole ExecutorSuite on it.
"""
from __future__ import annotations

import threading
from typing import Any

from flowrun.plugin import Call, Done, Executor, hookimpl, run_attempt

NAME = "fresh"


class _Attempt:
    def __init__(self, call: Call, done: Done) -> None:
        self.call, self.done, self.cancelled = call, done, False

    def run(self) -> None:
        outcome = run_attempt(self.call)
        if not self.cancelled:
            self.done(outcome)


class FreshThreadExecutor(Executor):
    """One new daemon thread per attempt: nothing is shared between attempts."""

    in_process = True

    def submit(self, call: Call, done: Done) -> _Attempt:
        attempt = _Attempt(call, done)
        threading.Thread(target=attempt.run, name=f"fresh-{call.task_id}",
                         daemon=True).start()
        return attempt

    def cancel(self, handle: _Attempt) -> str:
        handle.cancelled = True  # a thread cannot be stopped: its outcome is dropped
        return "its thread was abandoned"

    def shutdown(self, wait: bool = True) -> None:
        """Nothing to release: each thread ends with its attempt."""


@hookimpl
def flowrun_make_executor(name: str, config: Any) -> FreshThreadExecutor | None:
    return FreshThreadExecutor() if name == NAME else None


@hookimpl
def flowrun_executors() -> list[str]:
    return [NAME]
