"""The scheduler: runs the selected tasks of several flows as one event-driven loop.

One thread (the caller's) owns every piece of run state. Executors hand outcomes back
through a queue; timers (retry delays, timeouts) live in a heap and bound the wait on
that queue, so nothing polls. Per task the work is O(1) plus its edges.

The engine reaches executors, the store and reporters only through the objects and
hooks it is given; it never imports a concrete one.
"""
from __future__ import annotations

import dataclasses
import heapq
import itertools
import queue
import secrets
import signal
import threading
import time
from collections import deque
from concurrent.futures import Future
from typing import Any, Callable

from flowrun import results
from flowrun.model import (CACHED, CANCELLED, CONTEXT_PARAM, FAILED, HAS_RESULT, INTERRUPTED, OK_STATUSES,
                           PENDING, RUNNING, SKIPPED, SUCCEEDED, Flow, Report, Run, RunRequest, Task,
                           TaskDef, task_id)
from flowrun.runner import Call, Outcome
from flowrun.source import task_source_hash

FLUSH_EVERY = 0.02  # seconds a finished task may wait before its record is durable
FLUSH_BATCH = 2000  # ...or this many buffered records, whichever comes first


class Node:
    """One unit of scheduling: a task, a mapped instance ``task[i]`` or a child task."""

    __slots__ = ("task", "id", "flow_run", "report", "status", "waiting", "downstream",
                 "upstream", "attempt", "value", "token", "group", "index", "extra",
                 "instances", "done_instances", "reused")

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
        self.value: Any = None
        self.token: Any = None      # identifies the live attempt; stale outcomes are dropped
        self.group: Node | None = None   # the mapped task this instance belongs to
        self.index: int | None = None
        self.extra: dict[str, Any] = {}  # kwargs an instance or child sets itself
        self.instances: list[Node] | None = None
        self.done_instances = 0
        self.reused = False  # settled from a previous run's stored result (--resume)


class FlowRun:
    """The nodes and run record of one flow in this invocation."""

    def __init__(self, request: RunRequest) -> None:
        self.flow = flow = request.flow
        self.request = request
        self.run = Run(id=secrets.token_hex(6), flow_id=flow.id, started=time.time(),
                       params=request.params, resumed_from=request.resumed_from,
                       partition=request.partition, scheduled_for=request.scheduled_for)
        self.nodes: dict[str, Node] = {}
        self.unfinished = 0
        self.state: dict | None = None  # the flow's persistent state, loaded on demand


class Engine:
    """Runs flows; see ``run``."""

    def __init__(self, *, hook: Any, storage: Any, executor_for: Callable[[str], Any],
                 default_executor: str, workers: int, limits: dict[str, int],
                 fail_fast: bool = False, use_call_hook: bool = False,
                 load_flow: Callable[[str, str], Flow] | None = None,
                 max_result_size: int | None = None) -> None:
        self.hook = hook
        self.load_flow = load_flow  # (target, calling flow id) -> a resolved Flow
        self.max_result_size = max_result_size
        self.storage = storage
        self.executor_for = executor_for
        self.default_executor = default_executor
        self.capacity = workers
        self.fail_fast = fail_fast
        self.use_call_hook = use_call_hook
        self.global_limits = dict(limits)
        self.events: queue.SimpleQueue = queue.SimpleQueue()
        self.ready: deque[Node] = deque()
        self.slot_waiters: list[Node] = []
        self.running = 0
        self.inflight: dict[Any, Node] = {}
        self.timers: list[tuple[float, int, Callable[[], None]]] = []
        self.seq = itertools.count()
        self.flow_runs: list[FlowRun] = []
        self.unfinished_runs = 0
        self.stopping: str | None = None  # why nothing new starts: "-x" or "interrupted"
        self.interrupts = 0
        self.next_flush = 0.0
        self.free_slots: dict[int, dict[str, int]] = {}
        self.child_futures: dict[Node, Future] = {}
        self.subflows: dict[Node, _Subflow] = {}
        self.child_counts: dict[tuple[str, str], int] = {}

    # -- public -----------------------------------------------------------------------

    def run(self, requests: list[RunRequest]) -> list[Run]:
        """Run each request as one run; return the runs, final."""
        for request in requests:
            self._add_flow_run(request)
        restore = self._catch_interrupts()
        try:
            for fr in self.flow_runs:
                self._begin(fr)
            self._loop()
        finally:
            restore()
            self.storage.flush()
        return [fr.run for fr in self.flow_runs]

    # -- building -----------------------------------------------------------------------

    def _add_flow_run(self, request: RunRequest) -> None:
        fr = FlowRun(request)
        flow = request.flow
        self.free_slots[id(fr)] = {**self.global_limits, **flow.limits}
        for task in flow.selected_tasks:
            fr.nodes[task.name] = Node(task, task.id, fr)
        for node in fr.nodes.values():
            for up_name in node.task.upstream:
                up = fr.nodes[up_name]
                node.upstream.append(up)
                up.downstream.append(node)
            node.waiting = len(node.upstream)
        fr.unfinished = len(fr.nodes)
        self.flow_runs.append(fr)

    def _begin(self, fr: FlowRun) -> None:
        self.unfinished_runs += 1
        self.storage.run_started(fr.run)
        self.hook.flowrun_run_start(run=fr.run)
        if not fr.nodes:
            self._finish_run(fr)
        for node in [n for n in fr.nodes.values() if not n.upstream]:
            self._decide(node)  # the rest is decided as its upstream settles

    # -- the loop -------------------------------------------------------------------------

    def _loop(self) -> None:
        events = self.events
        while self.unfinished_runs:
            self._start_ready()
            if not self.unfinished_runs:
                break
            try:
                event = events.get(timeout=self._wait_time())
            except queue.Empty:
                self._fire_timers()
                continue
            self._handle(event)
            while True:  # drain what is already there before starting more work
                try:
                    event = events.get_nowait()
                except queue.Empty:
                    break
                self._handle(event)
            self._fire_timers()

    def _wait_time(self) -> float | None:
        now = time.monotonic()
        deadlines = [self.timers[0][0]] if self.timers else []
        if self.storage_dirty:
            deadlines.append(self.next_flush)
        if not deadlines:
            return None
        return max(0.0, min(deadlines) - now)

    @property
    def storage_dirty(self) -> bool:
        return self.next_flush > 0

    def _fire_timers(self) -> None:
        now = time.monotonic()
        if self.storage_dirty and now >= self.next_flush:
            self.storage.flush()
            self.next_flush = 0.0
        while self.timers and self.timers[0][0] <= now:
            _, _, action = heapq.heappop(self.timers)
            action()

    def _after(self, delay: float, action: Callable[[], None]) -> None:
        heapq.heappush(self.timers, (time.monotonic() + delay, next(self.seq), action))

    def _handle(self, event: tuple) -> None:
        kind = event[0]
        if kind == "done":
            _, node, token, outcome = event
            if self.inflight.get(token) is node:
                del self.inflight[token]
                self._attempt_finished(node, outcome)
        elif kind == "spawn":
            self._spawn_child(*event[1:])
        elif kind == "subflow":
            self._start_subflow(*event[1:])
        elif kind == "block":
            self.capacity += event[1]
        elif kind == "interrupt":
            self._interrupted()

    def _record(self, report: Report) -> None:
        self.storage.record(report)
        if not self.storage_dirty:
            self.next_flush = time.monotonic() + FLUSH_EVERY
        if len(getattr(self.storage, "_pending", ())) >= FLUSH_BATCH:
            self.storage.flush()
            self.next_flush = 0.0

    # -- deciding what runs -------------------------------------------------------------

    def _decide(self, node: Node) -> None:
        """All upstream is final: run the node, or settle it by its ``run_if``."""
        if self.stopping:
            return self._settle(node, CANCELLED, self._stop_reason())
        stored = node.flow_run.request.reuse.get(node.task.name)
        if stored is not None and node.group is None and all(u.reused for u in node.upstream):
            return self._reuse(node, stored)
        verdict = _run_if_verdict(node)
        if verdict is not None:
            return self._settle(node, *verdict)
        each = node.task.options.each
        if each is not None and node.group is None and node.instances is None:
            return self._expand(node)
        if node.task.options.run_key is not None and self._use_cached(node):
            return
        self.ready.append(node)

    def _expand(self, node: Node) -> None:
        """Fan a mapped task out into one instance node per item."""
        each = node.task.options.each
        try:
            if isinstance(each, str):
                upstream = node.flow_run.nodes[node.task.inputs[each]]
                items = [{each: item} for item in _iterate(upstream, each)]
            else:
                items = [dict(combo) for combo in node.task.static_each]
        except TypeError as exc:
            return self._settle(node, FAILED, None, error=str(exc), summary=str(exc))
        node.status = RUNNING
        node.instances = []
        for i, extra in enumerate(items):
            child = Node(node.task, f"{node.id}[{i}]", node.flow_run)
            child.group, child.index, child.extra = node, i, extra
            node.instances.append(child)
            node.flow_run.unfinished += 1
            self.ready.append(child)
        if not items:
            node.value = []
            self._settle(node, SUCCEEDED, None)

    def _reuse(self, node: Node, stored: Report) -> None:
        """Take a previous run's result instead of running (``--resume``)."""
        node.reused = True
        node.value = results.loads(stored.result, stored.result_format)
        report = node.report
        report.result, report.result_format = stored.result, stored.result_format
        report.source_hash, report.run_key = stored.source_hash, stored.run_key
        self._settle(node, CACHED, f"result reused from run {stored.run_id}")

    def _use_cached(self, node: Node) -> bool:
        try:
            key = str(node.task.options.run_key(**self._kwargs(node, with_context=False)))
        except Exception as exc:  # noqa: BLE001 - the user's run_key failed
            from flowrun.runner import format_user_error

            error, summary = format_user_error(exc)
            self._settle(node, FAILED, None, error=error, summary=f"run_key: {summary}")
            return True
        node.report.run_key = key
        hit = self.storage.find_cached(node.id, key)
        if hit is None:
            return False
        node.value = results.loads(hit.result, hit.result_format)
        node.report.result, node.report.result_format = hit.result, hit.result_format
        self._settle(node, CACHED, f"run_key {key!r} succeeded in run {hit.run_id}")
        return True

    # -- starting ----------------------------------------------------------------------

    def _start_ready(self) -> None:
        ready = self.ready
        while ready and self.running < self.capacity and not self.stopping:
            node = ready.popleft()
            if node.task.options.limit and not self._take_slots(node):
                self.slot_waiters.append(node)
                continue
            self._start(node)
        if self.stopping:
            while ready:
                self._settle(ready.popleft(), CANCELLED, self._stop_reason())

    def _take_slots(self, node: Node) -> bool:
        free = self.free_slots[id(node.flow_run)]
        groups = node.task.options.limit
        if any(free[g] <= 0 for g in groups):
            return False
        for g in groups:
            free[g] -= 1
        return True

    def _release_slots(self, node: Node) -> None:
        if not node.task.options.limit:
            return
        free = self.free_slots[id(node.flow_run)]
        for g in node.task.options.limit:
            free[g] += 1
        waiters, self.slot_waiters = self.slot_waiters, []
        self.ready.extendleft(reversed(waiters))

    def _start(self, node: Node) -> None:
        node.attempt += 1
        node.status = RUNNING
        fr = node.flow_run
        task = node.task
        report = node.report
        report.status, report.attempt = RUNNING, node.attempt
        report.queued = time.time()
        report.started = report.finished = None
        if not task.source_hash:
            task.source_hash = task_source_hash(task.fn)
        report.source_hash = task.source_hash
        call = Call(task_id=node.id, flow_id=task.flow_id, run_id=fr.run.id,
                    attempt=node.attempt, fn=task.fn, kwargs=self._kwargs(node),
                    wants_context=task.wants_context, timeout=task.options.timeout,
                    params=fr.run.params, partition=fr.run.partition,
                    scheduled_for=fr.run.scheduled_for)
        executor = self.executor_for(task.options.executor or self.default_executor)
        if executor.in_process:
            call.spawn = self._spawner(node)
            if self.use_call_hook:
                call.hook = self.hook.flowrun_task_call
        if task.wants_context:
            call.state = self._flow_state(fr)
        token = object()
        node.token = token
        self.inflight[token] = node
        self.running += 1
        put = self.events.put
        handle = executor.submit(call, lambda outcome: put(("done", node, token, outcome)))
        if task.options.timeout:
            self._after(task.options.timeout,
                        lambda: self._timed_out(node, token, executor, handle))
        self._record(report)
        self.hook.flowrun_task_start(task=report)

    def _kwargs(self, node: Node, with_context: bool = True) -> dict[str, Any]:
        task = node.task
        kwargs = {name: node.flow_run.run.params.get(name, default)
                  for name, default in task.params.items()}
        nodes = node.flow_run.nodes
        for param, upstream in task.inputs.items():
            kwargs[param] = nodes[upstream].value
        kwargs.update(node.extra)
        return kwargs

    def _flow_state(self, fr: FlowRun) -> dict:
        if fr.state is None:
            fr.state = self.storage.get_state(fr.flow.id)
        return fr.state

    def _timed_out(self, node: Node, token: Any, executor: Any, handle: Any) -> None:
        if self.inflight.get(token) is not node:
            return
        del self.inflight[token]
        executor.cancel(handle)
        timeout = node.task.options.timeout
        message = f"timed out after {timeout:g}s"
        if executor.in_process:
            message += " (the thread could not be stopped and was abandoned)"
        now = time.time()
        outcome = Outcome(status=FAILED, error=message, summary=message,
                          started=node.report.queued or now, finished=now)
        self._attempt_finished(node, outcome)

    # -- finishing ----------------------------------------------------------------------

    def _attempt_finished(self, node: Node, outcome: Outcome) -> None:
        self.running -= 1
        self._release_slots(node)
        if outcome.status == SUCCEEDED and self._too_large(outcome):
            outcome.error = outcome.summary = (
                f"result is {_size(len(outcome.result or b''))}, over max_result_size "
                f"{_size(self.max_result_size or 0)}")
            outcome.status, outcome.result, outcome.value = FAILED, None, None
        report = node.report
        report.started, report.finished = outcome.started, outcome.finished
        report.stdout, report.stderr, report.log = outcome.stdout, outcome.stderr, outcome.log
        report.error, report.summary, report.reason = outcome.error, outcome.summary, outcome.reason
        if outcome.status == SUCCEEDED:
            node.value = outcome.get_value()
            report.result, report.result_format = outcome.result, outcome.result_format
            if outcome.state_changes:
                self._apply_state(node.flow_run, outcome.state_changes)
        elif outcome.status == FAILED and self._retry(node, outcome):
            return
        self._settle(node, outcome.status, outcome.reason, exception=outcome.exception)

    def _too_large(self, outcome: Outcome) -> bool:
        limit = self.max_result_size
        return bool(limit and outcome.result is not None and len(outcome.result) > limit)

    def _retry(self, node: Node, outcome: Outcome) -> bool:
        opts = node.task.options
        if node.attempt > opts.retries or self.stopping:
            return False
        report = node.report
        report.status, report.will_retry = FAILED, True
        self._record(report)
        self.hook.flowrun_task_finish(task=report)
        report.will_retry = False
        node.report = _next_attempt(report)
        node.status = PENDING
        delay = opts.retry_delay * opts.retry_backoff ** (node.attempt - 1)
        if delay > 0:
            self._after(delay, lambda: self._requeue(node))
        else:
            self.ready.append(node)
        return True

    def _requeue(self, node: Node) -> None:
        if self.stopping:
            self._settle(node, FAILED, None)
        else:
            self.ready.append(node)

    def _apply_state(self, fr: FlowRun, changes: dict) -> None:
        state = self._flow_state(fr)
        for key, value in changes.items():
            if value is None:
                state.pop(key, None)
            else:
                state[key] = value
        self.storage.record_state(fr.flow.id, changes)

    def _settle(self, node: Node, status: str, reason: str | None, *,
                error: str | None = None, summary: str | None = None,
                exception: BaseException | None = None) -> None:
        """Give ``node`` its final status and let its downstream decide."""
        node.status = status
        report = node.report
        report.status = status
        if reason is not None:
            report.reason = reason
        if error is not None:
            report.error, report.summary = error, summary
        if status not in HAS_RESULT:
            node.value = None
        self._record(report)  # a mapped task's own row holds the list of results
        if not node.instances:  # ...but reporters count its instances instead
            self.hook.flowrun_task_finish(task=report)
        fr = node.flow_run
        fr.unfinished -= 1
        if status == FAILED and (self.fail_fast or fr.flow.fail_fast) and not self.stopping:
            self._stop("-x")
        if node.group is not None:
            self._instance_settled(node)
        if node in self.child_futures:
            self._resolve_future(node, exception)
        if node in self.subflows:
            self.subflows.pop(node).settled(node)
        for down in node.downstream:
            down.waiting -= 1
            if down.waiting == 0 and down.status == PENDING:
                self._decide(down)
        if fr.unfinished == 0 and fr.run.status == RUNNING:  # downstream may have done it
            self._finish_run(fr)

    def _instance_settled(self, node: Node) -> None:
        group = node.group
        assert group is not None and group.instances is not None
        group.done_instances += 1
        if group.done_instances < len(group.instances):
            return
        statuses = [n.status for n in group.instances]
        if any(s not in OK_STATUSES for s in statuses):
            failed = next(n for n in group.instances if n.status not in OK_STATUSES)
            self._settle(group, FAILED, None, summary=f"{failed.id} {failed.status}")
        elif all(s == SKIPPED for s in statuses):
            self._settle(group, SKIPPED, "every instance was skipped")
        else:
            group.value = [n.value for n in group.instances]
            group.report.result, group.report.result_format = _dumps_or_none(group.value)
            self._settle(group, SUCCEEDED, None)

    def _finish_run(self, fr: FlowRun) -> None:
        run = fr.run
        counts: dict[str, int] = {}
        for node in _reported_nodes(fr):
            counts[node.status] = counts.get(node.status, 0) + 1
        run.counts = counts
        if self.stopping == INTERRUPTED:
            run.status = INTERRUPTED
        elif any(s not in OK_STATUSES for s in counts):
            run.status = FAILED
        else:
            run.status = SUCCEEDED
        run.finished = time.time()
        self.storage.run_finished(run)
        self.next_flush = 0.0
        self.unfinished_runs -= 1
        self.hook.flowrun_run_finish(run=run)

    # -- stopping ----------------------------------------------------------------------

    def _stop(self, why: str) -> None:
        self.stopping = why
        for node in self.slot_waiters:
            self._settle(node, CANCELLED, self._stop_reason())
        self.slot_waiters = []

    def _stop_reason(self) -> str:
        return "run interrupted" if self.stopping == INTERRUPTED else \
            "run stopped after the first failure (-x)"

    def _interrupted(self) -> None:
        """Ctrl-C: the first stops starting tasks; the second abandons running ones."""
        self.interrupts += 1
        if self.interrupts == 1:
            self._stop(INTERRUPTED)
            while self.ready:
                self._settle(self.ready.popleft(), CANCELLED, self._stop_reason())
            self._cancel_timers_for_waiting()
            return
        for token, node in list(self.inflight.items()):
            del self.inflight[token]
            now = time.time()
            self._attempt_finished(node, Outcome(
                status=FAILED, error="interrupted while running (abandoned)",
                summary="interrupted while running", started=now, finished=now))

    def _cancel_timers_for_waiting(self) -> None:
        """Retries waiting on a delay will not happen: settle them now."""
        timers, self.timers = self.timers, []
        for _, _, action in timers:
            action()  # _requeue sees self.stopping and settles the node as failed

    def _catch_interrupts(self) -> Callable[[], None]:
        """Turn SIGINT into an event, so Ctrl-C never tears the loop mid-update."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        put = self.events.put  # SimpleQueue.put is safe to call from a signal handler

        def on_sigint(signum: int, frame: Any) -> None:
            put(("interrupt",))

        previous = signal.signal(signal.SIGINT, on_sigint)
        return lambda: signal.signal(signal.SIGINT, previous)

    # -- children (submit) ------------------------------------------------------------

    def _spawner(self, parent: Node) -> Callable:
        """What ``submit()`` and ``run_flow()`` call from the task's thread: both only
        post an event; the scheduler thread does the work."""
        put = self.events.put

        def spawn(fn: Callable, args: tuple, kwargs: dict, subflow: bool = False) -> Future:
            future = _ChildFuture(put)
            if subflow:
                put(("subflow", parent, fn, kwargs, future))
            else:
                put(("spawn", parent, fn, args, kwargs, future))
            return future
        return spawn

    def _start_subflow(self, parent: Node, target: Any, params: dict, future: Future) -> None:
        """``run_flow()``: the other flow's tasks join this run as a nested group
        ``parent::flow_x::task``."""
        try:
            if self.load_flow is None:
                raise RuntimeError("run_flow() needs a session that can load flows")
            flow = self.load_flow(target, parent.task.flow_id)
            unknown = sorted(set(params) - set(flow.params))
            if unknown:
                raise TypeError(f"run_flow({flow.id!r}): unknown parameter '{unknown[0]}' "
                                f"(it takes: {', '.join(flow.params) or 'none'})")
        except Exception as exc:  # noqa: BLE001 - goes to the caller's result()
            future.set_exception(exc)
            return
        fr = parent.flow_run
        stem = flow.id.rpartition("/")[2].removesuffix(".py")
        prefix = f"{parent.task.name}::{stem}"
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
            fr.nodes[renamed.name] = node
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
            self._decide(node)

    def _spawn_child(self, parent: Node, fn: Callable, args: tuple, kwargs: dict,
                     future: Future) -> None:
        """A running task called ``submit()``: its child becomes a node of the run."""
        fr = parent.flow_run
        if isinstance(fn, TaskDef):
            name, options, fn = fn.name, fn.options, fn.fn
        else:
            name, options = getattr(fn, "__name__", "call"), parent.task.options
        options = dataclasses.replace(options, each=None, run_key=None, limit=(), after=(),
                                      name=None)
        key = (parent.id, name)
        index = self.child_counts[key] = self.child_counts.get(key, -1) + 1
        task = Task(flow_id=parent.task.flow_id, name=f"{parent.task.name}::{name}[{index}]",
                    fn=fn, options=options, wants_context=_takes_context(fn))
        child = Node(task, task_id(task.flow_id, task.name), fr)
        child.extra = {"__args__": args, **kwargs}
        child.report.parent = parent.id
        fr.nodes[task.name] = child
        fr.unfinished += 1
        self.child_futures[child] = future
        if self.stopping:
            return self._settle(child, CANCELLED, self._stop_reason())
        self.ready.append(child)

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


class ChildTaskError(Exception):
    """What ``future.result()`` raises when a submitted child did not succeed."""


class _ChildFuture(Future):
    """A child task's future; waiting on it from a worker lends the worker's slot to
    the children, so nested submits cannot starve the pool."""

    def __init__(self, put: Callable) -> None:
        super().__init__()
        self._put = put
        self.node: Node | None = None

    def result(self, timeout: float | None = None) -> Any:
        if self.done():
            return super().result(0)
        self._put(("block", 1))
        try:
            return super().result(timeout)
        finally:
            self._put(("block", -1))


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB"):
        if n < 1024 or unit == "MiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _takes_context(fn: Callable) -> bool:
    code = getattr(fn, "__code__", None)
    if code is None:
        return False
    names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    return CONTEXT_PARAM in names


def _run_if_verdict(node: Node) -> tuple[str, str] | None:
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


def _iterate(upstream: Node, param: str) -> list:
    value = upstream.value
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
        raise TypeError(f"each='{param}' needs a list (or other iterable) from task "
                        f"'{upstream.task.name}', got {type(value).__name__}")
    return list(value)


def _dumps_or_none(value: Any) -> tuple[bytes | None, str | None]:
    try:
        return results.dumps(value)
    except results.UnpicklableResult:
        return None, None


def _next_attempt(report: Report) -> Report:
    return Report(run_id=report.run_id, flow_id=report.flow_id, task_id=report.task_id,
                  attempt=report.attempt, run_key=report.run_key, parent=report.parent)


def _reported_nodes(fr: FlowRun) -> list[Node]:
    """Nodes that count in summaries: instances instead of their mapped task."""
    return [n for n in fr.nodes.values() if n.instances is None] + [
        i for n in fr.nodes.values() if n.instances for i in n.instances]
