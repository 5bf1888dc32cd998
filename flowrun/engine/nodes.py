"""The scheduler's bookkeeping: one ``Node`` per task, mapped instance or child, and
the pure rules about them (``run_if``, fan-out input, what summaries count). No I/O."""
from __future__ import annotations

import os
import time
from collections import deque
from types import MappingProxyType
from typing import Any, Callable, Mapping

from flowrun.plugin import results
from flowrun.model import (
    CANCELLED,
    CONTEXT_PARAM,
    FAILED,
    HAS_RESULT,
    PENDING,
    SKIPPED,
    Report,
    Run,
    RunRequest,
    Task,
)

_NO_EXTRA: Mapping[str, Any] = MappingProxyType({})  # shared: a million nodes, no dicts


class Node:
    """One unit of scheduling: a task, a mapped instance ``task[i]`` or a child task."""

    __slots__ = ("task", "id", "flow_run", "report", "status", "waiting", "downstream",
                 "upstream", "attempt", "_value", "pending", "ref", "token", "group",
                 "index", "extra", "instances", "done_instances", "reused")

    def __init__(self, task: Task, node_id: str, flow_run: FlowRun) -> None:
        self.task = task
        self.id = node_id
        self.flow_run = flow_run
        self.report = Report(run_id=flow_run.run.id, flow_id=task.flow_id, task_id=node_id)
        self.status = PENDING
        self.waiting = 0
        self.downstream: list[Node] = []
        self.upstream: list[Node] = []
        self.attempt = 0
        self._value: Any = None
        self.pending: Any = None  # an Outcome whose result is decoded when first needed
        self.ref: Any = None  # where an executor keeps the result (Outcome.ref)
        self.token: Any = None      # identifies the live attempt; stale outcomes are dropped
        self.group: Node | None = None   # the mapped task this instance belongs to
        self.index: int | None = None
        self.extra: Mapping[str, Any] = _NO_EXTRA  # kwargs an instance or child sets itself
        self.instances: list[Node] | None = None
        self.done_instances = 0
        self.reused = False  # settled from a previous run's stored result (--resume)

    @property
    def value(self) -> Any:
        """The task's result; one kept by reference is decoded only when asked for."""
        if self.pending is not None:
            outcome, self.pending = self.pending, None
            self._value = outcome.get_value()
        return self._value

    @value.setter
    def value(self, value: Any) -> None:
        self._value, self.pending = value, None


class FlowRun:
    """The nodes and run record of one flow in this invocation."""

    def __init__(self, request: RunRequest, slots: Slots) -> None:
        self.flow = flow = request.flow
        self.slots = slots
        self.request = request
        self.run = Run(id=request.run_id or os.urandom(6).hex(), flow_id=flow.id, started=time.time(),
                       params=request.params, resumed_from=request.resumed_from,
                       partition=request.partition, scheduled_for=request.scheduled_for)
        self.nodes: dict[str, Node] = {}
        self.unfinished = 0
        self.state: dict | None = None  # the flow's persistent state, loaded on demand
        self.stopped: str | None = None  # why this run starts no more tasks (fail_fast)
        self.waits_for: set[FlowRun] = set()  # runs of flows this one comes after


class RunOrder:
    """Which flow runs may begin: every one at once, except runs whose requests share a
    ``queue``, which begin one after another in request order, and runs of a flow with
    ``Flow(after=)``, which begin once the runs they wait for have finished."""

    def __init__(self) -> None:
        self.startable: list[FlowRun] = []
        self.waiting: dict[str, deque[FlowRun]] = {}
        self.blocked: list[FlowRun] = []

    def add(self, fr: FlowRun) -> None:
        if fr.waits_for:
            self.blocked.append(fr)
            return
        name = fr.request.queue
        if name is not None and name in self.waiting:
            self.waiting[name].append(fr)
            return
        if name is not None:
            self.waiting[name] = deque()
        self.startable.append(fr)

    def finished(self, fr: FlowRun, why_not: Callable[[FlowRun], str | None]) -> None:
        """``fr`` ended; ``why_not(fr)`` is why the runs waiting for it may not run
        their tasks (None: it succeeded)."""
        waiting = self.waiting.get(fr.request.queue) if fr.request.queue else None
        if waiting:
            self.startable.append(waiting.popleft())
        for other in [b for b in self.blocked if fr in b.waits_for]:
            other.waits_for.discard(fr)
            reason = why_not(fr)
            if reason and not other.stopped:
                other.stopped = reason
            if not other.waits_for:
                self.blocked.remove(other)
                self.add(other)

    def take(self) -> FlowRun | None:
        return self.startable.pop(0) if self.startable else None


class Waiting:
    """Nodes waiting to start, shared by the engine and the rules that stop runs early:
    ``ready`` (in order), ``slot_waiters`` (for a concurrency slot) and ``timers``
    (retry delays, state-lock waits, timeouts). Changed in place, never replaced."""

    __slots__ = ("ready", "slot_waiters", "timers")

    def __init__(self, timers: Any) -> None:
        self.ready: deque[Node] = deque()
        self.slot_waiters: list[Node] = []
        self.timers = timers

    def keep_only(self, keep: Callable[[Node], bool]) -> None:
        """Drop the ready and slot-waiting nodes for which ``keep`` is false."""
        kept = [n for n in self.ready if keep(n)]
        self.ready.clear()
        self.ready.extend(kept)
        self.slot_waiters[:] = [n for n in self.slot_waiters if keep(n)]


class Slots:
    """Free slots of each concurrency group of one flow run. A task takes a slot in
    every group it names or in none (all or nothing), so overlapping groups cannot
    deadlock."""

    def __init__(self, limits: dict[str, int]) -> None:
        self.free = dict(limits)

    def take(self, groups: tuple[str, ...]) -> bool:
        if any(self.free[g] <= 0 for g in groups):
            return False
        for g in groups:
            self.free[g] -= 1
        return True

    def give(self, groups: tuple[str, ...]) -> None:
        for g in groups:
            self.free[g] += 1

    #: Seconds after which tasks waiting for a slot look again (None: only when a task
    #: of this run gives one back, the only way one frees up).
    poll: float | None = None


class SharedSlots(Slots):
    """The slots of a store shared by hosts (``LimitStore``): taken and given in the
    store. A group found full is not asked again until ``poll`` has passed or this run
    gave a slot back, so many waiting tasks cost one query per wake-up, not one each."""

    poll = 0.2

    def __init__(self, limits: dict[str, int], storage: Any, run_id: str) -> None:
        super().__init__(limits)
        self.size = dict(limits)
        self.storage, self.run_id = storage, run_id
        self.full: dict[str, float] = {}  # group -> until when it counts as full

    def take(self, groups: tuple[str, ...]) -> bool:
        now = time.monotonic()
        if any(self.full.get(g, 0.0) > now for g in groups):
            return False
        if self.storage.take_limits(self.run_id, {g: self.size[g] for g in groups}):
            return True
        self.full.update(dict.fromkeys(groups, now + self.poll))
        return False

    def give(self, groups: tuple[str, ...]) -> None:
        self.storage.give_limits(self.run_id, groups)
        self.full.clear()


def size_text(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB"):
        if n < 1024 or unit == "MiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def takes_context(fn: Callable) -> bool:
    code = getattr(fn, "__code__", None)
    if code is None:
        return False
    names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    return CONTEXT_PARAM in names


def run_if_verdict(node: Node) -> tuple[str, str] | None:
    """None if the node should run, else (status, reason) from its ``run_if``."""
    if not node.upstream:
        return None
    rule = node.task.options.run_if
    statuses = {up.status for up in node.upstream}
    if rule == "done":
        return None
    if rule == "failed":
        if statuses & {FAILED, CANCELLED}:
            return None
        return SKIPPED, "run_if='failed': no upstream task failed"
    if rule == "any_succeeded":
        if statuses & HAS_RESULT:
            return None
        return SKIPPED, "run_if='any_succeeded': no upstream task succeeded"
    for up in node.upstream:
        if up.status in (FAILED, CANCELLED):
            return CANCELLED, f"upstream {up.task.name} {up.status}"
    for up in node.upstream:
        if up.status == SKIPPED:
            return SKIPPED, f"upstream {up.task.name} skipped"
    return None


def iterate(upstream: Node, param: str) -> list:
    value = upstream.value
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
        raise TypeError(f"each='{param}' needs a list (or other iterable) from task "
                        f"'{upstream.task.name}', got {type(value).__name__}")
    return list(value)


def instance_label(values: dict[str, Any], width: int = 40) -> str:
    """``region=eu n=3``: an instance's values, shown beside its id (strings bare)."""
    if len(values) == 1:  # the usual each= of one name: a null run labels 10,000
        (name, value), = values.items()
        text = value if isinstance(value, str) else repr(value)
        if len(text) <= width:
            return f"{name}={text}"
    parts = []
    for name, value in values.items():
        text = value if isinstance(value, str) else repr(value)
        parts.append(f"{name}={text if len(text) <= width else text[:width - 3] + '...'}")
    return " ".join(parts)


def dumps_or_none(value: Any) -> tuple[bytes | None, str | None]:
    try:
        return results.dumps(value)
    except results.UnpicklableResult:
        return None, None


def next_attempt(report: Report) -> Report:
    return Report(run_id=report.run_id, flow_id=report.flow_id, task_id=report.task_id,
                  attempt=report.attempt, run_key=report.run_key, parent=report.parent,
                  args_hash=report.args_hash, label=report.label)


def reported_nodes(fr: FlowRun) -> list[Node]:
    """Nodes that count in summaries: instances instead of their mapped task."""
    return [n for n in fr.nodes.values() if n.instances is None] + [
        i for n in fr.nodes.values() if n.instances for i in n.instances]
