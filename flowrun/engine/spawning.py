"""``submit()`` children and ``run_flow()`` subflows: a collaborator the engine owns.

Both are called from a task's thread and only post an event; the scheduler thread then
adds the new nodes to the run, so they are recorded, retried and reported like any task.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Callable

from flowrun.engine.events import CapacityBlock, SpawnChild, StartSubflow
from flowrun.errors import ChildTaskError
from flowrun.engine.nodes import Node, takes_context
from flowrun.model import (
    HAS_RESULT,
    OK_STATUSES,
    SKIPPED,
    Task,
    TaskDef,
    task_id,
)

if TYPE_CHECKING:
    from concurrent.futures import Future

    from flowrun.engine.life import NodeLife
    from flowrun.engine.reusing import Reusing


class Spawning:
    """The children and subflows of one engine, and the futures their callers hold."""

    def __init__(self, life: NodeLife, reusing: Reusing, put: Callable[[Any], None],
                 load_flow: Callable[[str, str], Any] | None) -> None:
        self.life, self.reusing = life, reusing
        self.put = put  # posts an event to the engine's queue (from any thread)
        self.load_flow = load_flow  # (target, calling flow id) -> a resolved Flow
        self.child_futures: dict[Node, Future] = {}
        self.subflows: dict[Node, _Subflow] = {}
        self.child_counts: dict[tuple[str, str], int] = {}
        #: (flow run, task name) -> the flow files a subflow task was reached through,
        #: its own last (where its run_flow() paths start, and what may not recur)
        self.chains: dict[tuple[int, str], tuple[str, ...]] = {}

    def spawner(self, parent: Node) -> _Spawner:
        """What ``submit()`` and ``run_flow()`` call (``call.spawn``)."""
        return _Spawner(parent, self.put)

    def settled(self, node: Node, exception: BaseException | None) -> None:
        """``node`` is final: answer the future or the subflow waiting for it."""
        if node in self.child_futures:
            self._resolve_future(node, exception)
        if node in self.subflows:
            self.subflows.pop(node).settled(node)

    def start_subflow(self, event: StartSubflow) -> None:
        """``run_flow()``: the other flow's tasks join this run as a nested group
        ``parent::flow_x::task``."""
        parent, params, future = event.parent, event.params, event.future
        load_flow = self.load_flow
        try:
            if load_flow is None:
                raise RuntimeError("run_flow() needs a session that can load flows")
            chain = self.chains.get((id(parent.flow_run), parent.task.name),
                                    (parent.task.flow_id,))
            flow = load_flow(event.target, chain[-1])
            if flow.id in chain:
                raise SubflowError(f"run_flow({event.target!r}): a flow may not run itself: "
                                   f"{' -> '.join((*chain, flow.id))}")
            unknown = sorted(set(params) - set(flow.params))
            if unknown:
                raise TypeError(f"run_flow({flow.id!r}): unknown parameter '{unknown[0]}' "
                                f"(it takes: {', '.join(flow.params) or 'none'})")
        except Exception as exc:  # noqa: BLE001 - goes to the caller's result()
            future.set_exception(exc)
            return
        fr = parent.flow_run
        stem = flow.id.rpartition("/")[2].removesuffix(".py")
        key = (parent.id, parent.attempt, f"{stem}.py")  # the same flow again: stem[1]
        index = self.child_counts[key] = self.child_counts.get(key, -1) + 1
        prefix = f"{_local_name(parent)}::{stem}" + (f"[{index}]" if index else "")
        group = _Subflow(flow.id, future)
        nodes: dict[str, Node] = {}
        for task in flow.tasks.values():
            renamed = dataclasses.replace(
                task, flow_id=parent.task.flow_id, name=f"{prefix}::{task.name}",
                inputs={p: f"{prefix}::{up}" for p, up in task.inputs.items()},
                upstream=tuple(f"{prefix}::{up}" for up in task.upstream))
            node = nodes[task.name] = Node(renamed, task_id(renamed.flow_id, renamed.name), fr)
            node.extra = {name: params.get(name, default) for name, default in task.params.items()}
            node.report.parent = parent.id
            self._replace(fr, renamed.name, node)
            self.chains[(id(fr), renamed.name)] = (*chain, flow.id)
            group.add(node, task.name)
            self.subflows[node] = group
        for node in nodes.values():
            node.upstream = [fr.nodes[up] for up in node.task.upstream]
            for up in node.upstream:
                up.downstream.append(node)
            node.waiting = len(node.upstream)
        fr.unfinished += len(nodes)
        if not nodes:
            return group.finish()
        for node in [n for n in nodes.values() if not n.upstream]:
            self.life.decide(node)

    def spawn_child(self, event: SpawnChild) -> None:
        """A running task called ``submit()``: its child becomes a node of the run."""
        parent, fn = event.parent, event.fn
        fr = parent.flow_run
        if isinstance(fn, TaskDef):
            name, options, fn = fn.name, fn.options, fn.fn
        else:
            name, options = getattr(fn, "__name__", "call"), parent.task.options
        options = dataclasses.replace(  # on the parent's executor unless it names one
            options, each=None, run_key=None, limit=(), after=(), name=None,
            executor=options.executor or parent.task.options.executor)
        key = (parent.id, parent.attempt, name)  # a retried parent's children: same ids
        index = self.child_counts[key] = self.child_counts.get(key, -1) + 1
        task = Task(flow_id=parent.task.flow_id, name=f"{_local_name(parent)}::{name}[{index}]",
                    fn=fn, options=options, wants_context=takes_context(fn))
        child = Node(task, task_id(task.flow_id, task.name), fr)
        child.extra = {"__args__": event.args, **event.kwargs}
        child.report.parent = parent.id
        self._replace(fr, task.name, child)
        fr.unfinished += 1
        self.child_futures[child] = event.future
        self.life.decide(child)  # cancelled when stopping; reused on --resume

    def _replace(self, fr: Any, name: str, node: Node) -> None:
        """Add ``node`` to the run; a node of that id from a retried parent's earlier
        attempt stays known to reuse (same arguments) and its attempts go on counting."""
        prior = fr.nodes.get(name)
        if prior is not None:
            self.reusing.follows(node, prior)
        fr.nodes[name] = node

    def _resolve_future(self, node: Node, exception: BaseException | None) -> None:
        future = self.child_futures.pop(node)
        if node.status in HAS_RESULT or node.status == SKIPPED:
            future.set_result(node.value)
        elif exception is not None:
            future.set_exception(exception)
        else:
            future.set_exception(ChildTaskError(
                f"child task {node.id} {node.status}: "
                f"{node.report.summary or node.report.reason or ''}".rstrip(": ")))


def _local_name(node: Node) -> str:
    """The node's id without its flow: ``task``, ``task[2]``, ``parent::child[0]``."""
    return node.id.partition("::")[2]


class _Subflow:
    """Tracks the tasks of one ``run_flow()`` call and answers its future."""

    def __init__(self, flow_id: str, future: Future) -> None:
        self.flow_id = flow_id
        self.future = future
        self.names: dict[Node, str] = {}
        self.left = 0

    def add(self, node: Node, name: str) -> None:
        self.names[node] = name
        self.left += 1

    def settled(self, node: Node) -> None:
        self.left -= 1
        if self.left == 0:
            self.finish()

    def finish(self) -> None:
        bad = [n for n in self.names if n.status not in OK_STATUSES]
        if bad:
            first = bad[0]
            self.future.set_exception(ChildTaskError(
                f"subflow {self.flow_id} failed: {first.id} {first.status}"
                + (f": {first.report.summary}" if first.report.summary else "")))
        else:
            self.future.set_result({name: n.value for n, name in self.names.items()})


class SubflowError(Exception):
    """``run_flow()`` cannot run that flow here (it would run itself)."""


class _Spawner:
    """``call.spawn`` of one attempt. Called from the task's thread (or, for a task on
    a worker, from its executor's reader): it only posts an event; the scheduler
    thread does the work. ``lend(n)``: a parent elsewhere waits on its children (n=1)
    or stopped waiting (n=-1); its slot is theirs meanwhile."""

    __slots__ = ("parent", "put")

    def __init__(self, parent: Node, put: Callable) -> None:
        self.parent, self.put = parent, put

    def __call__(self, fn: Any, args: tuple, kwargs: dict, subflow: bool = False) -> Future:
        future = _child_future_class()(self.put)
        if subflow:
            self.put(StartSubflow(self.parent, fn, kwargs, future))
        else:
            self.put(SpawnChild(self.parent, fn, args, kwargs, future))
        return future

    def lend(self, delta: int) -> None:
        self.put(CapacityBlock(delta))


_CHILD_FUTURE: list[type] = []


def _child_future_class() -> type:
    """The class of children's futures, made on the first child: concurrent.futures
    (which loads logging and traceback) is left out of runs without children."""
    if not _CHILD_FUTURE:
        from concurrent.futures import Future

        class _ChildFuture(Future):
            """A child task's future; waiting on it from a worker lends the worker's
            slot to the children, so nested submits cannot starve the pool."""

            def __init__(self, put: Callable) -> None:
                super().__init__()
                self._put = put
                self.node: Node | None = None

            def result(self, timeout: float | None = None) -> Any:
                if self.done():
                    return super().result(0)
                self._put(CapacityBlock(1))
                try:
                    return super().result(timeout)
                finally:
                    self._put(CapacityBlock(-1))

        _CHILD_FUTURE.append(_ChildFuture)
    return _CHILD_FUTURE[0]
