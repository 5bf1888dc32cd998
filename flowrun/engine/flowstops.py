"""Stopping one flow run, not the session: a flow's own ``fail_fast`` and ``Flow(after=)``
(API section 2). ``-x`` and Ctrl-C stop everything (``stopping``); this stops starting
the tasks of one flow run, cancels what was about to start with the reason, and lets
a task waiting for a retry end with its last attempt's status. Other flows go on.
"""
from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from flowrun.engine.nodes import FlowRun
from flowrun.model import CANCELLED, FAILED

if TYPE_CHECKING:
    from flowrun.engine.loop import Engine


class FlowStops:
    """Stops flow runs one at a time (``FlowRun.stopped`` holds the reason)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def stop(self, fr: FlowRun, reason: str) -> None:
        """Start nothing more of ``fr``: every task that has not started is cancelled
        with ``reason`` (as its upstream settles, for those still waiting)."""
        if fr.stopped:
            return
        fr.stopped = reason
        engine = self.engine
        settle = engine.finishing.settle
        mine = [n for n in engine.ready if n.flow_run is fr]
        mine += [n for n in engine.slot_waiters if n.flow_run is fr]
        if mine:
            engine.ready = deque(n for n in engine.ready if n.flow_run is not fr)
            engine.slot_waiters = [n for n in engine.slot_waiters if n.flow_run is not fr]
        for node in mine:
            settle(node, CANCELLED, reason)
        for retry in engine.timers.take_retries(lambda timer: timer.node.flow_run is fr):
            retry.node.report = retry.last  # the failed attempt's record becomes final
            settle(retry.node, FAILED, None)


def fail_fast_reason(node_id: str) -> str:
    return f"flow stopped after {node_id} failed (fail_fast)"


def after_reason(flow_id: str, status: str) -> str:
    return f"flow {flow_id} {status} (this flow runs after it)"
