"""The executor interface: where an attempt runs. Nothing else lives here.

An executor is made by a plugin's ``flowrun_make_executor(name, config)``. The engine
calls ``submit`` for every attempt it starts (never more at once than its ``-n`` cap),
and the executor calls ``done(outcome)`` exactly once per attempt, from any thread,
unless ``cancel`` came first (after ``cancel`` a late ``done`` is ignored).
"""
from __future__ import annotations

from typing import Any, Callable, Protocol, runtime_checkable

from flowrun.runner import Call, Outcome

Done = Callable[[Outcome], None]


@runtime_checkable
class Executor(Protocol):
    #: True when attempts run in this process, so results need no serialization
    #: round trip and ``submit()`` children and the task-call hook are available.
    in_process: bool

    def submit(self, call: Call, done: Done) -> Any:
        """Start ``call`` (run it with ``flowrun.runner.run_attempt``); return a handle."""

    def cancel(self, handle: Any) -> None:
        """Stop the attempt: drop it if queued, kill it if the executor can (process,
        SSH), abandon it otherwise (threads cannot be killed)."""

    def shutdown(self, wait: bool = True) -> None:
        """Release workers. ``wait=False``: do not wait for running attempts."""
