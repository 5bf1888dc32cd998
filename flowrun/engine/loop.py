"""The scheduler: runs the selected tasks of several flows as one event-driven loop.

One thread (the caller's) owns the loop; run state changes only under ``lock``, which
it releases while it waits. Executors, tasks and the signal handler put typed events on a
queue (``events``), or, on a worker free for it, finish the attempt themselves
(``onworker``); timers (retry delays, timeouts) live in a heap and bound the wait on
that queue, so nothing polls. Per task the work is O(1) plus its edges. A node's life
(decide, expand, retry, settle) is ``life``; stopping early is ``stopping``; children and
subflows are ``spawning`` — collaborators the engine owns, each handed the part of the
run state it works on (``Waiting``: what waits to start), not the engine.

The engine reaches executors, the store and reporters only through the objects and
hooks it is given; it never imports a concrete one.
"""
from __future__ import annotations

import queue
import threading
import time
from typing import Any, Callable

from flowrun.engine.events import (AttemptDone, CapacityBlock, Event, GraceTimer, Interrupt,
                                   OutputTimer, SlotPollTimer, SpawnChild, StartSubflow,
                                   TimeoutTimer, Timers)
from flowrun.engine.life import NodeLife
from flowrun.engine.liveoutput import LiveOutput
from flowrun.engine.heap import KeptHeap
from flowrun.engine.flowstops import FlowStops
from flowrun.engine.interrupts import signals_as_events
from flowrun.engine.onworker import OnWorker
from flowrun.engine.nodes import FlowRun, Node, RunOrder, SharedSlots, Slots, Waiting
from flowrun.engine.reusing import Reusing
from flowrun.engine.spawning import Spawning
from flowrun.engine.statelocks import StateLocks
from flowrun.engine.stopping import Stopping
from flowrun.model import CANCELLED, RUNNING, Flow, Report, Run, RunRequest, Task
from flowrun.plugin import Call, LimitStore
from flowrun.plugin.executor import Declared
from flowrun.plugin.source import task_source_hash

FLUSH_EVERY = 0.02  # seconds a finished task may wait before its record is durable


class Engine:
    """Runs flows; see ``run``."""

    def __init__(self, *, hook: Any, storage: Any, executor_for: Callable[[str], Declared],
                 default_executor: str, workers: int, limits: dict[str, int],
                 fail_fast: bool = False, use_call_hook: bool = False,
                 load_flow: Callable[[str, str], Flow] | None = None,
                 max_result_size: int | None = None,
                 prepare_call: list[Callable[[Call, str], None]] | None = None) -> None:
        self.hook = hook
        # The per-task events cost a pluggy call each even with nobody listening.
        # Their reports are snapshots: this engine changes its own ones later.
        self.task_start = _listened(hook.flowrun_task_start)
        self.task_finish = _listened(hook.flowrun_task_finish)
        self.max_result_size = max_result_size
        self.storage = storage
        self.executor_for = executor_for
        self.default_executor = default_executor
        self.capacity = workers
        self.fail_fast = fail_fast
        self.use_call_hook = use_call_hook
        self.prepare_call = prepare_call or ()  # CALL_PREPARERS (tracing); none: free
        self.global_limits = dict(limits)  # [tool.flowrun.limits]; Flow(limits=) adds
        self.shared_limits = isinstance(storage, LimitStore)  # counted across hosts
        self.slot_poll_due = 0.0  # when waiting tasks look for a shared slot again
        self.events: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self.lock = threading.Lock()  # held by whoever changes run state
        self.waiting = Waiting(Timers())  # what waits to start, shared with stopping
        self.ready, self.timers = self.waiting.ready, self.waiting.timers  # (the same)
        self.running = 0
        self.inflight: dict[object, Node] = {}  # attempt token -> its node
        self.handles: dict[object, tuple[Declared, Any]] = {}  # token -> (executor, handle)
        self.flow_runs: list[FlowRun] = []
        self.unfinished_runs = 0
        self.order = RunOrder()
        self.next_flush = 0.0
        self.life = life = NodeLife(self)  # decide, expand, end an attempt, retry, settle
        # its helpers get the part of the run state they work on, not the engine
        self.stopping = Stopping(self.waiting, life, self.inflight, self.handles, hook)
        self.reusing = Reusing(storage, life, self.kwargs)
        self.spawning = Spawning(life, self.reusing, self.events.put, load_flow)
        self.flowstops = FlowStops(self.waiting, life)
        self.statelocks = StateLocks(storage, self.timers, self._runs_here, self.flow_state)
        self.onworker = OnWorker(self)
        #: --force: task ids whose resumed, keyed or cached results are not taken
        self.forced_ids: frozenset[str] = frozenset()
        #: makes the collaborator for declared files and cached tasks, on first need
        self.make_caching: Callable[[Engine], Any] | None = None
        self._caching: Any = None
        self.live_output = LiveOutput(self.timers, self.inflight, self.handles, self.record)

    def forced(self, node: Node) -> bool:
        return bool(self.forced_ids) and node.task.id in self.forced_ids

    def caching(self) -> Any:
        """Declared files and cached tasks (``flowrun.engine.caching``), made when the
        first node that declares them decides: other runs never import it."""
        if self._caching is None:
            if self.make_caching is None:
                from flowrun.engine.caching import make_caching

                self.make_caching = make_caching
            self._caching = self.make_caching(self)
        return self._caching

    # -- public -----------------------------------------------------------------------

    def run(self, requests: list[RunRequest]) -> list[Run]:
        """Run each request as one run; return the runs, final."""
        heap = KeptHeap()
        with heap.building():
            for request in requests:
                self._add_flow_run(request)
        for fr in self.flow_runs:
            after = set(getattr(fr.flow, "after", ()))  # flows not selected: not waited for
            fr.waits_for = {o for o in self.flow_runs if o.flow.id in after and o is not fr}
            self.order.add(fr)
        restore = signals_as_events(self.events.put)
        self.lock.acquire()
        try:
            self._loop()
        finally:
            heap.release()
            self.onworker.closed = True  # from now on no worker touches run state
            self.lock.release()
            restore()
            self.statelocks.release_all()  # flushes what their holders wrote
            self.storage.flush()
            if self._caching is not None:
                self._caching.fp.save()  # the file hashes learnt, for the next run
        return [fr.run for fr in self.flow_runs]

    # -- building -----------------------------------------------------------------------

    def _add_flow_run(self, request: RunRequest) -> None:
        limits = {**self.global_limits, **request.flow.limits}
        fr = FlowRun(request, Slots(limits))
        if self.shared_limits and limits:
            fr.slots = SharedSlots(limits, self.storage, fr.run.id)
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

    def _begin_runs(self) -> None:
        while (fr := self.order.take()) is not None:
            self._begin(fr)

    def _begin(self, fr: FlowRun) -> None:
        fr.run.started = time.time()  # a queued run starts late
        self.storage.run_started(fr.run)
        self.hook.flowrun_run_start(run=fr.run)
        if not fr.nodes:
            self.life.run(fr)
        for node in [n for n in fr.nodes.values() if not n.upstream]:
            self.life.decide(node)  # the rest is decided as its upstream settles

    # -- the loop -------------------------------------------------------------------------

    def _loop(self) -> None:
        """Runs holding ``lock``; releases it only to wait for the next event."""
        events = self.events
        while self.unfinished_runs:
            self._begin_runs()
            self.start_ready()
            if not self.unfinished_runs:
                break
            if self.order.startable:
                continue  # a run finished while starting tasks: begin the next one
            event = self._wait()
            if event is not None:
                self.handle(event)
            while True:  # drain what is already there before starting more work
                try:
                    event = events.get_nowait()
                except queue.Empty:
                    break
                self.handle(event)
            self._fire_timers()

    def _wait(self) -> Event | None:
        """The next event, or None when the next deadline comes first."""
        due = self.next_deadline()
        self.onworker.sleeping(due)
        self.lock.release()
        try:
            self.onworker.drain()  # what workers left while the loop held the lock
            return self.events.get(timeout=None if due is None else
                                   max(0.0, due - time.monotonic()))
        except queue.Empty:
            return None
        finally:
            self.lock.acquire()
            self.onworker.check()

    def next_deadline(self) -> float | None:
        """When the loop must look again without an event (monotonic; None: never)."""
        due = self.timers.next_due()
        if self.storage_dirty and (due is None or self.next_flush < due):
            due = self.next_flush
        return due

    @property
    def storage_dirty(self) -> bool:
        return self.next_flush > 0

    def flush_if_due(self, now: float | None = None) -> None:
        if self.storage_dirty and (now or time.monotonic()) >= self.next_flush:
            self.storage.flush()
            self.next_flush = 0.0

    def _fire_timers(self) -> None:
        now = time.monotonic()
        self.flush_if_due(now)
        for timer in self.timers.pop_due(now):
            if type(timer) is TimeoutTimer:
                self.life.timed_out(timer)
            elif type(timer) is GraceTimer:
                self.stopping.grace_over()
            elif type(timer) is OutputTimer:
                self.live_output.fire()
            elif type(timer) is SlotPollTimer:
                self.slot_poll_due = 0.0
                self._wake_slot_waiters()
            else:  # a RetryTimer (stopping takes those out first) or a StateWaitTimer
                self.ready.append(timer.node)

    def handle(self, event: Event) -> None:
        kind = type(event)
        if kind is AttemptDone:
            self.handles.pop(event.token, None)
            if self.inflight.get(event.token) is event.node:
                del self.inflight[event.token]
                self.life.attempt(event.node, event.outcome)
        elif kind is SpawnChild:
            self.spawning.spawn_child(event)
        elif kind is StartSubflow:
            self.spawning.start_subflow(event)
        elif kind is CapacityBlock:
            self.capacity += event.delta
        elif kind is Interrupt:
            self.stopping.interrupt(event.signal)

    def record(self, report: Report) -> None:
        """Buffer a report; it becomes durable within ``FLUSH_EVERY`` seconds (the store
        also flushes by itself once its buffer is large)."""
        self.storage.record(report)
        if not self.storage_dirty:
            self.next_flush = time.monotonic() + FLUSH_EVERY

    def record_all(self, reports: list[Report]) -> None:
        """``record`` each of ``reports``."""
        record = self.storage.record
        for report in reports:
            record(report)
        if reports and not self.storage_dirty:
            self.next_flush = time.monotonic() + FLUSH_EVERY

    # -- starting ----------------------------------------------------------------------

    def start_ready(self, here: Any = None) -> bool:
        """Start what is ready, as capacity allows; with ``here`` (on a worker), only
        tasks of that executor: True if a task of another one was left for the loop."""
        ready = self.ready
        stopping = self.stopping
        while ready and self.running < self.capacity and not stopping.why:
            if here is not None and self.executor_of(ready[0]) is not here:
                return True
            node = ready.popleft()
            if node.flow_run.stopped:  # a flow stop came while it waited (a timer)
                self.life.settle(node, CANCELLED, node.flow_run.stopped)
                continue
            if node.task.options.limit and not self._take_slots(node):
                self.waiting.slot_waiters.append(node)
                if node.flow_run.slots.poll and not self.slot_poll_due:
                    self.slot_poll_due = time.monotonic() + node.flow_run.slots.poll
                    self.timers.add(SlotPollTimer(self.slot_poll_due))
                continue
            if node.task.wants_context and not self.statelocks.may_start(node):
                self.release_slots(node)  # it waits for the state lock, on a timer
                continue
            self._start(node)
        while ready and stopping.why:  # stopping cancelled the rest; this is a backstop
            self.life.settle(ready.popleft(), CANCELLED, stopping.reason())
        return False

    def _take_slots(self, node: Node) -> bool:
        return node.flow_run.slots.take(node.task.options.limit)

    def release_slots(self, node: Node) -> None:
        if node.task.options.limit:
            node.flow_run.slots.give(node.task.options.limit)
            self._wake_slot_waiters()

    def _wake_slot_waiters(self) -> None:
        waiters = self.waiting.slot_waiters
        self.ready.extendleft(reversed(waiters))
        waiters.clear()

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
        declared = self.executor_of(node)
        call = Call(task_id=node.id, flow_id=task.flow_id, run_id=fr.run.id,
                    attempt=node.attempt, fn=task.fn,
                    kwargs=self.kwargs(node, declared.accepts_ref),
                    wants_context=task.wants_context, timeout=task.options.timeout,
                    params=fr.run.params, partition=fr.run.partition,
                    scheduled_for=fr.run.scheduled_for, hosts=task.options.hosts)
        in_process = declared.in_process
        if in_process or declared.supports_children:
            call.spawn = self.spawning.spawner(node)  # a remote one asks through it
        if in_process and self.use_call_hook:
            call.hook = self.hook.flowrun_task_call
        if task.wants_context:
            call.state = self.statelocks.source(node, in_process)
        for prepare in self.prepare_call:
            prepare(call, task.options.executor or self.default_executor)
        token = object()
        node.token = token
        self.inflight[token] = node
        self.running += 1
        executor = declared.executor
        handle = executor.submit(call, self.onworker.callback(declared, node, token))
        self.handles[token] = (declared, handle)
        if declared.so_far is not None and not self.live_output.armed:
            self.live_output.arm()
        if task.options.timeout:
            self.timers.add(TimeoutTimer(time.monotonic() + task.options.timeout, node,
                                         token, declared, handle))
        self.record(report)
        self.task_start(task=report)

    def executor_of(self, node: Node) -> Declared:
        return self.executor_for(node.task.options.executor or self.default_executor)

    def _runs_here(self, task: Task) -> bool:
        return self.executor_for(task.options.executor or self.default_executor).in_process

    def kwargs(self, node: Node, accepts_ref: Callable[[Any], bool] | None = None
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

    def flow_state(self, fr: FlowRun) -> dict:
        if fr.state is None:
            fr.state = self.storage.get_state(fr.flow.id)
        return fr.state


def _listened(hook_caller: Any) -> Callable[..., Any]:
    """A task hook called with a snapshot of the report if a plugin implements it,
    else a no-op (then not even the snapshot is made). One plain implementation (the
    terminal's, usually) is called as pluggy would call it, without pluggy's round
    trip per task."""
    impls = hook_caller.get_hookimpls()
    if not impls:
        return lambda task: None
    if len(impls) == 1 and not (impls[0].wrapper or impls[0].hookwrapper) \
            and tuple(impls[0].argnames) == ("task",):
        function = impls[0].function
        return lambda task: function(task.snapshot())
    return lambda task: hook_caller(task=task.snapshot())
