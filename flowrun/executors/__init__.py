"""The executor interface: where an attempt runs. Nothing else lives here.

An executor is made by a plugin's ``flowrun_make_executor(name, config)``. The engine
calls ``submit`` for every attempt it starts (never more at once than its ``-n`` cap),
and the executor calls ``done(outcome)`` exactly once per attempt, from any thread,
unless ``cancel`` came first (after ``cancel`` a late ``done`` is ignored).

Results by reference: an executor that keeps results where they were made (a Dask
cluster) sets ``Outcome.ref`` and may implement ``accepts_ref(ref) -> bool``; the engine
then passes the ref instead of the value to tasks this executor runs, and decodes the
stored result only when something else needs the value. An executor with a ``slots``
attribute (how many attempts it can run at once) raises the default ``-n`` to it.
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

    def cancel(self, handle: Any) -> str | None:
        """Stop the attempt: drop it if queued, kill it if the executor can (process,
        SSH), abandon it otherwise (threads cannot be killed). May return a few words
        for the user about what happened (the timeout message shows them)."""

    def shutdown(self, wait: bool = True) -> None:
        """Release workers. ``wait=False``: do not wait for running attempts."""
