"""Stopping a run early: after the first failure (``-x``) or on Ctrl-C (API section 5).

Stopping starts nothing new: tasks that never started are ``cancelled`` and a task
waiting for a retry ends with its last attempt's status. Running tasks may finish, and
their timeouts still apply; only a second Ctrl-C abandons them.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

from flowrun.model import CANCELLED, FAILED, INTERRUPTED
from flowrun.plugin import Outcome

if TYPE_CHECKING:
    from flowrun.engine.loop import Engine

FAIL_FAST = "-x"


class Stopping:
    """Why nothing new starts (``why``: None, ``"-x"`` or ``"interrupted"``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.why: str | None = None
        self.interrupts = 0

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

    def interrupt(self) -> None:
        """Ctrl-C: the first stops starting tasks; the second abandons running ones."""
        self.interrupts += 1
        if self.interrupts == 1:
            self.stop(INTERRUPTED)
            return
        engine = self.engine
        for token, node in list(engine.inflight.items()):
            del engine.inflight[token]
            now = time.time()
            engine.finishing.attempt(node, Outcome(
                status=FAILED, error="interrupted while running (abandoned)",
                summary="interrupted while running", reason="interrupted",
                started=node.report.queued or now, finished=now))
