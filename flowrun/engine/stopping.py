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
from flowrun.model import CANCELLED, FAILED, INTERRUPTED
from flowrun.plugin import Outcome

#: Seconds running tasks get after the first stop signal (``interrupt_grace``).
DEFAULT_GRACE = 10.0

if TYPE_CHECKING:
    from flowrun.engine.loop import Engine

FAIL_FAST = "-x"


class Stopping:
    """Why nothing new starts (``why``: None, ``"-x"`` or ``"interrupted"``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
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
        engine = self.engine
        settle = engine.finishing.settle
        waiters, engine.slot_waiters = engine.slot_waiters, []
        for node in waiters:
            settle(node, CANCELLED, self.reason())
        while engine.ready:
            settle(engine.ready.popleft(), CANCELLED, self.reason())
        for retry in engine.timers.take_retries():
            retry.node.report = retry.last  # the failed attempt's record becomes final
            settle(retry.node, FAILED, None)

    def interrupt(self, signal: str = "SIGINT") -> None:
        """The first stop signal stops starting tasks and gives running ones the grace;
        the second stops them now."""
        self.interrupts += 1
        if self.interrupts > 1:
            return self.stop_running("interrupted (stopped by a second signal)")
        engine = self.engine
        self.stop(INTERRUPTED)
        running = [node.report for node in engine.inflight.values()]
        engine.hook.flowrun_interrupted(signal=signal, running=running, grace=self.grace)
        if running:
            engine.timers.add(GraceTimer(time.monotonic() + self.grace))

    def grace_over(self) -> None:
        if self.engine.inflight:
            self.stop_running(f"interrupted (still running {self.grace:g}s after the "
                              "stop signal)")

    def stop_running(self, error: str) -> None:
        """Stop every running attempt where its executor can, and record it failed."""
        engine = self.engine
        for token, node in list(engine.inflight.items()):
            del engine.inflight[token]
            executor, handle = engine.handles.pop(token, (None, None))
            if executor is not None:
                executor.cancel(handle)  # kills a worker; a thread is abandoned
            now = time.time()
            engine.finishing.attempt(node, given_up(
                executor, handle, status=FAILED, error=error, summary="interrupted",
                reason="interrupted", started=node.report.queued or now, finished=now))


def given_up(executor: Any, handle: Any, **fields: Any) -> Outcome:
    """The outcome of an attempt just cancelled, with what it printed and logged until
    then when its executor can say (``Executor.output``)."""
    outcome = Outcome(**fields)
    output = getattr(executor, "output", None)
    kept = output(handle) if output is not None else None
    if kept:
        outcome.stdout, outcome.stderr, outcome.log = kept
    return outcome
