"""``context.state`` across runs: the flow's state lock, taken lazily by a task's first
state access and released once its attempt's writes are committed (see
``flowrun.context`` for the rule users rely on). A collaborator the engine owns.
"""
from __future__ import annotations

import time
from types import CodeType
from typing import TYPE_CHECKING, Any, Callable

from flowrun.engine.events import StateWaitTimer
from flowrun.engine.nodes import FlowRun, Node
from flowrun.plugin import StateLockStore

if TYPE_CHECKING:
    from flowrun.engine.events import Timers
    from flowrun.model import Task


WAIT = 0.01  # seconds before a task waiting for the state lock tries again


class StateBusy(RuntimeError):
    """A task touched state while a task it was submitted from holds the state lock."""


class StateLocks:
    """Which attempts hold their flow's state lock (node -> the store's handle)."""

    def __init__(self, storage: Any, timers: Timers, runs_here: Callable[[Task], bool],
                 flow_state: Callable[[FlowRun], dict]) -> None:
        self.storage, self.timers = storage, timers
        self.runs_here = runs_here  # whether a task's attempts run in this process
        self.flow_state = flow_state  # a flow run's state as this run knows it
        self.held: dict[Node, Any] = {}
        self.lockable = isinstance(storage, StateLockStore)
        self.taken: dict[Node, dict] = {}  # locked before starting: the state it read
        self._uses: dict[Any, bool] = {}

    def may_start(self, node: Node) -> bool:
        """A task that runs outside this process and whose code reads ``.state`` takes
        the lock before it starts (its worker cannot wait for it): True if it got it or
        needs none; else it is put back on a timer and tried again shortly."""
        task = node.task
        if not self.lockable or not self._uses_state(task.fn) or self.runs_here(task):
            return True
        got = self.storage.lock_state(node.flow_run.flow.id, wait=False)
        if got is None:
            self.timers.add(StateWaitTimer(time.monotonic() + WAIT, node))
            return False
        self.held[node], self.taken[node] = got
        return True

    def source(self, node: Node, in_process: bool) -> dict | Callable[[], dict]:
        """What an attempt's ``Call.state`` carries: for a task running in this process,
        a function its first state access calls (it waits for the lock and reads the
        state as stored now); else the state read when it took the lock before starting,
        or (a task whose code never reads ``.state``) a snapshot taken now."""
        fr = node.flow_run
        if node in self.taken:
            return self.taken.pop(node)
        if not (in_process and self.lockable):
            return dict(self.flow_state(fr))
        storage, held, flow_id = self.storage, self.held, fr.flow.id
        prefix = node.id + "::"

        def open_state() -> dict:
            for other in list(held):
                if other.flow_run.flow.id == flow_id and prefix.startswith(other.id + "::"):
                    raise StateBusy(
                        f"context.state of {flow_id} is held by {other.id}, which waits "
                        f"for {node.id}: pass the values as arguments instead")
            handle, state = storage.lock_state(flow_id)
            held[node] = handle
            return state
        return open_state

    def release(self, node: Node) -> None:
        """``node``'s attempt ended: make its state writes durable, then let others in."""
        handle = self.held.pop(node, None)
        if handle is not None:
            self.storage.flush()
            self.storage.unlock_state(handle)

    def _uses_state(self, fn: Any) -> bool:
        uses = self._uses.get(fn)
        if uses is None:
            uses = self._uses[fn] = _names_state(getattr(fn, "__code__", None))
        return uses

    def release_all(self) -> None:
        for node in list(self.held):
            self.release(node)


def _names_state(code: CodeType | None) -> bool:
    """Whether the code (or code nested in it) names an attribute ``state``."""
    if code is None:
        return True  # a callable without code: assume it may
    return "state" in code.co_names or any(
        _names_state(c) for c in code.co_consts if isinstance(c, CodeType))
