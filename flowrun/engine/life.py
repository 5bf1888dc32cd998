"""One node's life: deciding whether it runs (``run_if``, reuse, ``each`` fan-out into
instances), how its attempt ends (outcome or timeout: a retry or a final status), and
settling it, which lets its downstream decide and, for the last one, ends the flow run.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

from flowrun.engine.events import RetryTimer, TimeoutTimer
from flowrun.engine.flowstops import after_reason, fail_fast_reason
from flowrun.engine.nodes import (
    FlowRun,
    Node,
    instance_label,
    iterate,
    dumps_or_none,
    next_attempt,
    reported_nodes,
    run_if_verdict,
    size_text,
)
from flowrun.engine.stopping import FAIL_FAST, given_up
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
    ReportSnapshot,
)
from flowrun.plugin import Outcome

if TYPE_CHECKING:
    from flowrun.engine.loop import Engine


class NodeLife:
    """The engine's rules for a node, from its upstream being final to its own end."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- deciding what runs -----------------------------------------------------------

    def decide(self, node: Node) -> None:
        """All upstream is final: run the node, or settle it by its ``run_if``."""
        engine = self.engine
        if engine.stopping.why:
            return self.settle(node, CANCELLED, engine.stopping.reason())
        fr = node.flow_run
        if fr.stopped:
            return self.settle(node, CANCELLED, fr.stopped)
        if fr.request.reuse and not engine.forced(node) and engine.reusing.task(node):
            return
        verdict = run_if_verdict(node)
        if verdict is not None:
            return self.settle(node, *verdict)
        each = node.task.options.each
        if each is not None and node.group is None and node.instances is None:
            return self._expand(node)
        if (node.group is not None or node.report.parent) and engine.reusing.node(node):
            return
        if node.task.options.run_key is not None and not engine.forced(node) \
                and engine.reusing.run_key(node):
            return
        if node.task.data_aware and engine.caching().decide(node):
            return
        engine.ready.append(node)

    def _expand(self, node: Node) -> None:
        """Fan a mapped task out into one instance node per item; each instance then
        decides like any node (reuse on ``--resume``, its ``run_key``)."""
        each = node.task.options.each
        try:
            if isinstance(each, str):
                upstream = node.flow_run.nodes[node.task.inputs[each]]
                items = [{each: item} for item in iterate(upstream, each)]
            else:
                items = list(node.task.static_each)  # read only, as every node's extra
        except TypeError as exc:
            return self.settle(node, FAILED, None, error=str(exc), summary=str(exc))
        node.status = RUNNING
        node.instances = []
        reusing = self.engine.reusing
        earlier = reusing.earlier_instances(node)
        for i, extra in enumerate(items):
            child = Node(node.task, f"{node.id}[{i}]", node.flow_run)
            child.group, child.index = node, i
            child.extra = {**node.extra, **extra} if node.extra else extra
            child.report.parent = node.report.parent
            child.report.label = instance_label(extra)
            if i < len(earlier):
                reusing.follows(child, earlier[i])
            node.instances.append(child)
        node.flow_run.unfinished += len(items)
        if not items:
            node.value = []
            return self.settle(node, SUCCEEDED, None)
        if node.task.data_aware and self._decided_alike(node):
            self._settle_unchanged(node)
        for child in node.instances:
            if child.status == PENDING:  # not settled meanwhile by stopping
                self.decide(child)

    def _decided_alike(self, group: Node) -> bool:
        """Would each instance of ``group`` come to its cache as ``decide`` takes it,
        nothing before deciding otherwise (no stop, ``--resume`` or ``run_key``)?"""
        engine = self.engine
        fr = group.flow_run
        return not (engine.stopping.why or fr.stopped or fr.request.stored
                    or engine.reusing.prior or group.task.options.run_key is not None)

    def _settle_unchanged(self, group: Node) -> None:
        """A null run's mapped task: settle together, as ``settle`` would one by one,
        the instances whose cache holds (``Caching.unchanged``); the rest decide.
        Its instances have no downstream of their own and are nobody's child."""
        engine = self.engine
        reusing = engine.reusing
        instances = group.instances
        assert instances is not None
        shared = reusing.shared_arguments(instances[0])
        for child in instances:  # recorded: a later --resume takes them by these
            child.report.args_hash = reusing.args_hash(child, shared)
        unchanged = engine.caching().unchanged(group)
        if not unchanged:
            return
        reports = []
        for node in unchanged:  # each taken its stored result, with its reason
            node.status = node.report.status = CACHED
            reports.append(node.report)
        engine.record_all(reports)
        task_finish = engine.task_finish
        for report in reports:  # final: the reporters' snapshot is the report itself
            report.__class__ = ReportSnapshot
            task_finish(task=report)
        group.flow_run.unfinished -= len(unchanged)
        group.done_instances += len(unchanged) - 1
        self._instance_settled(unchanged[-1])  # the group ends once, if this ends it

    # -- attempts ---------------------------------------------------------------------

    def attempt(self, node: Node, outcome: Outcome) -> None:
        """Attempt ``node.attempt`` ended with ``outcome``: retry it or settle the node."""
        engine = self.engine
        engine.running -= 1
        engine.release_slots(node)
        if outcome.status == SUCCEEDED and self._too_large(outcome):
            outcome.error = outcome.summary = (
                f"result is {size_text(len(outcome.result or b'') or outcome.result_size)}, "
                "over max_result_size "
                f"{size_text(engine.max_result_size or 0)}")
            outcome.status, outcome.result, outcome.value = FAILED, None, None
        if outcome.status == SUCCEEDED and node.task.data_aware:
            engine.caching().succeeded(node, outcome)  # a declared write missing fails it
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
            report.result_ref = outcome.result_ref  # a worker stored it already
            if outcome.state_changes:
                self._apply_state(node.flow_run, outcome.state_changes)
        if engine.statelocks.held:
            engine.statelocks.release(node)  # after its writes, which it makes durable
        if outcome.status == FAILED and self._retry(node):
            return
        self.settle(node, outcome.status, outcome.reason, exception=outcome.exception)

    def timed_out(self, timer: TimeoutTimer) -> None:
        """A timeout came due: fail the attempt unless it already ended."""
        node, inflight = timer.node, self.engine.inflight
        if inflight.get(timer.token) is not node:
            return
        del inflight[timer.token]
        note = timer.executor.executor.cancel(timer.handle)
        message = f"timed out after {node.task.options.timeout:g}s"
        if note:
            message += f" ({note})"
        now = time.time()
        self.attempt(node, given_up(timer.executor, timer.handle, status=FAILED,
                                    error=message, summary=message,
                                    started=node.report.queued or now, finished=now))

    def _too_large(self, outcome: Outcome) -> bool:
        limit = self.engine.max_result_size
        size = len(outcome.result) if outcome.result is not None else outcome.result_size
        return bool(limit and size > limit)

    def _retry(self, node: Node) -> bool:
        """Record the failed attempt and queue the next one, if any is left."""
        engine = self.engine
        opts = node.task.options
        if node.attempt > opts.retries or engine.stopping.why:
            return False
        report = node.report
        report.status, report.will_retry = FAILED, True
        engine.record(report)
        engine.task_finish(task=report)
        report.will_retry = False
        node.report = next_attempt(report)
        node.status = PENDING
        delay = opts.retry_delay * opts.retry_backoff ** (node.attempt - 1)
        if delay > 0:
            engine.timers.add(RetryTimer(time.monotonic() + delay, node, report))
        else:
            engine.ready.append(node)
        return True

    def _apply_state(self, fr: FlowRun, changes: dict) -> None:
        state = self.engine.flow_state(fr)
        for key, value in changes.items():
            if value is None:
                state.pop(key, None)
            else:
                state[key] = value
        self.engine.storage.record_state(fr.flow.id, changes)

    # -- nodes and runs ---------------------------------------------------------------

    def settle(self, node: Node, status: str, reason: str | None, *,
               error: str | None = None, summary: str | None = None,
               exception: BaseException | None = None) -> None:
        """Give ``node`` its final status and let its downstream decide."""
        engine = self.engine
        node.status = status
        report = node.report
        report.status = status
        if reason is not None:
            report.reason = reason
        if error is not None:
            report.error, report.summary = error, summary
        if status not in HAS_RESULT:
            node.value = None
        engine.record(report)  # a mapped task's own row holds the list of results
        if not node.instances:  # ...but reporters count its instances instead
            engine.task_finish(task=report)
        fr = node.flow_run
        fr.unfinished -= 1
        if status == FAILED and not engine.stopping.why:
            if engine.fail_fast:  # -x: the whole session
                engine.stopping.stop(FAIL_FAST)
            elif fr.flow.fail_fast and not fr.stopped:  # this flow only
                engine.flowstops.stop(fr, fail_fast_reason(node.id))
        if node.group is not None:
            self._instance_settled(node)
        engine.spawning.settled(node, exception)
        for down in node.downstream:
            down.waiting -= 1
            if down.waiting == 0 and down.status == PENDING:
                self.decide(down)
        if fr.unfinished == 0 and fr.run.status == RUNNING:  # downstream may have done it
            self.run(fr)

    def _instance_settled(self, node: Node) -> None:
        group = node.group
        assert group is not None and group.instances is not None
        group.done_instances += 1
        if group.done_instances < len(group.instances):
            return
        statuses = [n.status for n in group.instances]
        if any(s not in OK_STATUSES for s in statuses):
            failed = next(n for n in group.instances if n.status not in OK_STATUSES)
            self.settle(group, FAILED, None, summary=f"{failed.id} {failed.status}")
        elif all(s == SKIPPED for s in statuses):
            self.settle(group, SKIPPED, "every instance was skipped")
        else:
            group.reused = all(n.reused for n in group.instances)  # so its downstream may be
            group.value = [n.value for n in group.instances]
            group.report.result, group.report.result_format = dumps_or_none(group.value)
            self.settle(group, SUCCEEDED, None)

    def run(self, fr: FlowRun) -> None:
        """Every node of ``fr`` is final: count them and record the run's status."""
        engine = self.engine
        run = fr.run
        counts: dict[str, int] = {}
        for node in reported_nodes(fr):
            counts[node.status] = counts.get(node.status, 0) + 1
        run.counts = counts
        if engine.stopping.why == INTERRUPTED:
            run.status = INTERRUPTED
        elif any(s not in OK_STATUSES for s in counts):
            run.status = FAILED
        else:
            run.status = SUCCEEDED
        run.finished = time.time()
        engine.storage.run_finished(run)
        engine.next_flush = 0.0
        engine.unfinished_runs -= 1
        engine.hook.flowrun_run_finish(run=run)
        engine.order.finished(fr, _why_not_after)


def _why_not_after(fr: FlowRun) -> str | None:
    """Why flows that come after ``fr``'s flow may not run (None: it succeeded)."""
    return None if fr.run.status in OK_STATUSES else after_reason(fr.flow.id, fr.run.status)
