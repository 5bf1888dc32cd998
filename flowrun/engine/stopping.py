"""Stopping a run early: after the first failure (``-x``) or on Ctrl-C (API section 5).

Stopping starts nothing new: tasks that never started are ``cancelled`` and a task
waiting for a retry ends with its last attempt's status. After a stop signal (Ctrl-C,
SIGTERM, SIGHUP) running tasks get ``interrupt_grace`` seconds to finish, and their
timeouts still apply; then, or at a second signal, they are stopped (process and SSH
workers killed, threads abandoned) and recorded ``failed`` with the reason
``interrupted``.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from flowrun.engine.events import GraceTimer
from flowrun.engine.nodes import Node, Waiting
from flowrun.model import CANCELLED, FAILED, INTERRUPTED
from flowrun.plugin import Outcome
from flowrun.plugin.executor import Declared

#: Seconds running tasks get after the first stop signal (``interrupt_grace``).
DEFAULT_GRACE = 10.0

if TYPE_CHECKING:
    from flowrun.engine.life import NodeLife

FAIL_FAST = "-x"


class Stopping:
    """Why nothing new starts (``why``: None, ``"-x"`` or ``"interrupted"``)."""

    def __init__(self, waiting: Waiting, life: NodeLife, inflight: dict[object, Node],
                 handles: dict[object, tuple[Any, Any]], hook: Any) -> None:
        self.waiting, self.life, self.hook = waiting, life, hook
        self.inflight, self.handles = inflight, handles  # the engine's: token -> ...
        self.why: str | None = None
        self.interrupts = 0
        self.grace = DEFAULT_GRACE

    def reason(self) -> str:
        """The reason recorded on the tasks that will not start."""
        if self.why == INTERRUPTED:
            return "run interrupted"
        return "run stopped after the first failure (-x)"

    def stop(self, why: str) -> None:
        """Start nothing more: cancel what is ready or waits for a slot, and settle what
        waits for a retry. Timeouts of running attempts stay set."""
        self.why = why
        waiting, settle = self.waiting, self.life.settle
        waiters = waiting.slot_waiters[:]
        waiting.slot_waiters.clear()
        for node in waiters:
            settle(node, CANCELLED, self.reason())
        while waiting.ready:
            settle(waiting.ready.popleft(), CANCELLED, self.reason())
        for retry in waiting.timers.take_retries():
            retry.node.report = retry.last  # the failed attempt's record becomes final
            settle(retry.node, FAILED, None)

    def interrupt(self, signal: str = "SIGINT") -> None:
        """The first stop signal stops starting tasks and gives running ones the grace;
        the second stops them now."""
        self.interrupts += 1
        if self.interrupts > 1:
            return self.stop_running("interrupted (stopped by a second signal)")
        self.stop(INTERRUPTED)
        running = [node.report.snapshot() for node in self.inflight.values()]
        self.hook.flowrun_interrupted(signal=signal, running=running, grace=self.grace)
        if running:
            self.waiting.timers.add(GraceTimer(time.monotonic() + self.grace))

    def grace_over(self) -> None:
        if self.inflight:
            self.stop_running(f"interrupted (still running {self.grace:g}s after the "
                              "stop signal)")

    def stop_running(self, error: str) -> None:
        """Stop every running attempt where its executor can, and record it failed."""
        for token, node in list(self.inflight.items()):
            del self.inflight[token]
            declared, handle = self.handles.pop(token, (None, None))
            if declared is not None:
                declared.executor.cancel(handle)  # kills a worker; a thread is abandoned
            now = time.time()
            self.life.attempt(node, given_up(
                declared, handle, status=FAILED, error=error, summary="interrupted",
                reason="interrupted", started=node.report.queued or now, finished=now))


def given_up(declared: Declared | None, handle: Any, **fields: Any) -> Outcome:
    """The outcome of an attempt just cancelled, with what it printed and logged until
    then when its executor can say (``Executor.output``)."""
    outcome = Outcome(**fields)
    output = declared.output if declared is not None else None
    kept = output(handle) if output is not None else None
    if kept:
        outcome.stdout, outcome.stderr, outcome.log = kept
    return outcome
