"""The scheduler: runs the selected tasks of several flows as one event-driven loop.

One thread (the caller's) owns every piece of run state. Executors hand outcomes back
through a queue; timers (retry delays, timeouts) live in a heap and bound the wait on
that queue, so nothing polls. Per task the work is O(1) plus its edges.

The engine reaches executors, the store and reporters only through the objects and
hooks it is given; it never imports a concrete one.
"""
from __future__ import annotations

import heapq
import itertools
import queue
import time
from collections import deque
from typing import Any, Callable

from flowrun import results
from flowrun.engine.interrupts import sigint_as_event
from flowrun.engine.nodes import (
    FlowRun,
    Node,
    RunOrder,
    Slots,
    dumps_or_none,
    iterate,
    next_attempt,
    reported_nodes,
    run_if_verdict,
    size_text,
)
from flowrun.engine.spawning import Spawning
from flowrun.model import (
    CACHED,
    CANCELLED,
    FAILED,
    HAS_RESULT,
    INTERRUPTED,
    OK_STATUSES,
    PENDING,
    RUNNING,
    SKIPPED,
    SUCCEEDED,
    Flow,
    Report,
    Run,
    RunRequest,
)
from flowrun.plugin import Call, Outcome, format_user_error
from flowrun.source import task_source_hash

FLUSH_EVERY = 0.02  # seconds a finished task may wait before its record is durable


class Engine(Spawning):
    """Runs flows; see ``run``."""

    def __init__(self, *, hook: Any, storage: Any, executor_for: Callable[[str], Any],
                 default_executor: str, workers: int, limits: dict[str, int],
                 fail_fast: bool = False, use_call_hook: bool = False,
                 load_flow: Callable[[str, str], Flow] | None = None,
                 max_result_size: int | None = None) -> None:
        self.hook = hook
        # The per-task events cost a pluggy call each even with nobody listening.
        self.task_start = _listened(hook.flowrun_task_start)
        self.task_finish = _listened(hook.flowrun_task_finish)
        self.load_flow = load_flow  # (target, calling flow id) -> a resolved Flow
        self.max_result_size = max_result_size
        self.storage = storage
        self.executor_for = executor_for
        self.default_executor = default_executor
        self.capacity = workers
        self.fail_fast = fail_fast
        self.use_call_hook = use_call_hook
        self.global_limits = dict(limits)  # [tool.flowrun.limits]; Flow(limits=) adds
        self.events: queue.SimpleQueue = queue.SimpleQueue()
        self.ready: deque[Node] = deque()
        self.slot_waiters: list[Node] = []
        self.running = 0
        self.inflight: dict[Any, Node] = {}
        self.timers: list[tuple[float, int, Callable[[], None]]] = []
        self.seq = itertools.count()
        self.flow_runs: list[FlowRun] = []
        self.unfinished_runs = 0
        self.order = RunOrder()
        self.stopping: str | None = None  # why nothing new starts: "-x" or "interrupted"
        self.interrupts = 0
        self.next_flush = 0.0
        self._init_spawning()

    # -- public -----------------------------------------------------------------------

    def run(self, requests: list[RunRequest]) -> list[Run]:
        """Run each request as one run; return the runs, final."""
        for request in requests:
            self._add_flow_run(request)
        restore = sigint_as_event(self.events.put, ("interrupt",))
        try:
            self._loop()
        finally:
            restore()
            self.storage.flush()
        return [fr.run for fr in self.flow_runs]

    # -- building -----------------------------------------------------------------------

    def _add_flow_run(self, request: RunRequest) -> None:
        fr = FlowRun(request, Slots({**self.global_limits, **request.flow.limits}))
        flow = request.flow
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
        self.unfinished_runs += 1
        self.order.add(fr)

    def _begin_runs(self) -> None:
        while (fr := self.order.take()) is not None:
            self._begin(fr)

    def _begin(self, fr: FlowRun) -> None:
        fr.run.started = time.time()  # a queued run starts late
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
            self._begin_runs()
            self._start_ready()
            if not self.unfinished_runs:
                break
            if self.order.startable:
                continue  # a run finished while starting tasks: begin the next one
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
        """Buffer a report; it becomes durable within ``FLUSH_EVERY`` seconds (the store
        also flushes by itself once its buffer is large)."""
        self.storage.record(report)
        if not self.storage_dirty:
            self.next_flush = time.monotonic() + FLUSH_EVERY

    # -- deciding what runs -------------------------------------------------------------

    def _decide(self, node: Node) -> None:
        """All upstream is final: run the node, or settle it by its ``run_if``."""
        if self.stopping:
            return self._settle(node, CANCELLED, self._stop_reason())
        stored = node.flow_run.request.reuse.get(node.task.name)
        if stored is not None and node.group is None and all(u.reused for u in node.upstream):
            return self._reuse(node, stored)
        verdict = run_if_verdict(node)
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
                items = [{each: item} for item in iterate(upstream, each)]
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
            key = str(node.task.options.run_key(**self._kwargs(node)))
        except Exception as exc:  # noqa: BLE001 - the user's run_key failed
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
        return node.flow_run.slots.take(node.task.options.limit)

    def _release_slots(self, node: Node) -> None:
        if node.task.options.limit:
            node.flow_run.slots.give(node.task.options.limit)
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
        executor = self.executor_for(task.options.executor or self.default_executor)
        call = Call(task_id=node.id, flow_id=task.flow_id, run_id=fr.run.id,
                    attempt=node.attempt, fn=task.fn,
                    kwargs=self._kwargs(node, getattr(executor, "accepts_ref", None)),
                    wants_context=task.wants_context, timeout=task.options.timeout,
                    params=fr.run.params, partition=fr.run.partition,
                    scheduled_for=fr.run.scheduled_for, hosts=task.options.hosts)
        if getattr(executor, "in_process", False):
            call.spawn = self._spawner(node)
            if self.use_call_hook:
                call.hook = self.hook.flowrun_task_call
        if task.wants_context:
            call.state = dict(self._flow_state(fr))  # a snapshot: the thread reads it later
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
        self.task_start(task=report)

    def _kwargs(self, node: Node, accepts_ref: Callable[[Any], bool] | None = None
                ) -> dict[str, Any]:
        """The task's arguments; an upstream result its executor keeps (``Outcome.ref``)
        goes by reference when the executor running this task ``accepts_ref`` it."""
        task = node.task
        kwargs = {name: node.flow_run.run.params.get(name, default)
                  for name, default in task.params.items()}
        nodes = node.flow_run.nodes
        for param, upstream in task.inputs.items():
            up = nodes[upstream]
            kwargs[param] = up.ref if up.ref is not None and accepts_ref is not None \
                and accepts_ref(up.ref) else up.value
        kwargs.update(node.extra)
        if task.wants_partition:
            kwargs["partition"] = node.flow_run.run.partition
        return kwargs

    def _flow_state(self, fr: FlowRun) -> dict:
        if fr.state is None:
            fr.state = self.storage.get_state(fr.flow.id)
        return fr.state

    def _timed_out(self, node: Node, token: Any, executor: Any, handle: Any) -> None:
        if self.inflight.get(token) is not node:
            return
        del self.inflight[token]
        note = executor.cancel(handle)
        message = f"timed out after {node.task.options.timeout:g}s"
        if note:
            message += f" ({note})"
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
                f"result is {size_text(len(outcome.result or b''))}, over max_result_size "
                f"{size_text(self.max_result_size or 0)}")
            outcome.status, outcome.result, outcome.value = FAILED, None, None
        report = node.report
        report.started, report.finished = outcome.started, outcome.finished
        report.stdout, report.stderr, report.log = outcome.stdout, outcome.stderr, outcome.log
        report.error, report.summary, report.reason = outcome.error, outcome.summary, outcome.reason
        if outcome.status == SUCCEEDED:
            if outcome.ref is not None:
                node.ref, node.pending = outcome.ref, outcome
            else:
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
        self.task_finish(task=report)
        report.will_retry = False
        node.report = next_attempt(report)
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
            self.task_finish(task=report)
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
            group.report.result, group.report.result_format = dumps_or_none(group.value)
            self._settle(group, SUCCEEDED, None)

    def _finish_run(self, fr: FlowRun) -> None:
        run = fr.run
        counts: dict[str, int] = {}
        for node in reported_nodes(fr):
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
        self.order.finished(fr)

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


def _listened(hook_caller: Any) -> Callable[..., Any]:
    """The hook itself if a plugin implements it, else a no-op."""
    return hook_caller if hook_caller.get_hookimpls() else (lambda **kwargs: None)
