"""Stopping one flow run, not the session: a flow's own ``fail_fast`` and ``Flow(after=)``
(API section 2). ``-x`` and Ctrl-C stop everything (``stopping``); this stops starting
the tasks of one flow run, cancels what was about to start with the reason, and lets
a task waiting for a retry end with its last attempt's status. Other flows go on.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from flowrun.engine.nodes import FlowRun, Waiting
from flowrun.model import CANCELLED, FAILED

if TYPE_CHECKING:
    from flowrun.engine.life import NodeLife


class FlowStops:
    """Stops flow runs one at a time (``FlowRun.stopped`` holds the reason)."""

    def __init__(self, waiting: Waiting, life: NodeLife) -> None:
        self.waiting = waiting
        self.life = life

    def stop(self, fr: FlowRun, reason: str) -> None:
        """Start nothing more of ``fr``: every task that has not started is cancelled
        with ``reason`` (as its upstream settles, for those still waiting)."""
        if fr.stopped:
            return
        fr.stopped = reason
        waiting, settle = self.waiting, self.life.settle
        mine = [n for n in waiting.ready if n.flow_run is fr]
        mine += [n for n in waiting.slot_waiters if n.flow_run is fr]
        if mine:
            waiting.keep_only(lambda n: n.flow_run is not fr)
        for node in mine:
            settle(node, CANCELLED, reason)
        for retry in waiting.timers.take_retries(lambda timer: timer.node.flow_run is fr):
            retry.node.report = retry.last  # the failed attempt's record becomes final
            settle(retry.node, FAILED, None)


def fail_fast_reason(node_id: str) -> str:
    return f"flow stopped after {node_id} failed (fail_fast)"


def after_reason(flow_id: str, status: str) -> str:
    return f"flow {flow_id} {status} (this flow runs after it)"
