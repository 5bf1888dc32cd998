"""``context.state`` across runs: the flow's state lock, taken lazily by a task's first
state access and released once its attempt's writes are committed (see
``flowrun.context`` for the rule users rely on). A collaborator the engine owns.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from flowrun.engine.nodes import Node
from flowrun.plugin import StateLockStore

if TYPE_CHECKING:
    from flowrun.engine.loop import Engine


class StateBusy(RuntimeError):
    """A task touched state while a task it was submitted from holds the state lock."""


class StateLocks:
    """Which attempts hold their flow's state lock (node -> the store's handle)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.held: dict[Node, Any] = {}
        self.lockable = isinstance(engine.storage, StateLockStore)

    def source(self, node: Node, in_process: bool) -> dict | Callable[[], dict]:
        """What an attempt's ``Call.state`` carries: for a task running in this process,
        a function its first state access calls (it waits for the lock and reads the
        state as stored now); else a snapshot of the state, taken now."""
        fr = node.flow_run
        if not (in_process and self.lockable):
            return dict(self.engine.flow_state(fr))
        storage, held, flow_id = self.engine.storage, self.held, fr.flow.id
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
            self.engine.storage.flush()
            self.engine.storage.unlock_state(handle)

    def release_all(self) -> None:
        for node in list(self.held):
            self.release(node)
