"""Declared files and cached tasks in a run (a collaborator the engine owns, beside
``Reusing``): before a node starts, its reads must exist and, when it is cached, its
fingerprint is made and judged (``flowrun.caching``); after it succeeds, its writes
must exist and its fingerprint is recorded with what they hold.

Only nodes of tasks that declare ``reads``/``writes`` or ``cache`` come here
(``Task.data_aware``): every other task pays one attribute test. A cached node whose
recorded fingerprint plainly still holds is settled the short way, without making its
fingerprint (``Fingerprinter.unchanged``): that is the whole of a null run.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from flowrun.caching import Fingerprinter, store_of, template_values
from flowrun.fingerprint import Fingerprint
from flowrun.hashing import blake2b
from flowrun.model import CACHED, FAILED, SUCCEEDED, Report
from flowrun.plugin import results

if TYPE_CHECKING:
    from flowrun.engine.life import NodeLife
    from flowrun.engine.nodes import Node


class Caching:
    """The engine's rules for declared files and cached tasks."""

    def __init__(self, fingerprinter: Fingerprinter, storage: Any, life: NodeLife,
                 digest: Callable[[Node], bytes], forced: frozenset[str]) -> None:
        self.fp = fingerprinter
        self.store = store_of(storage)
        self.life = life
        self.digest = digest  # an upstream node's result, hashed (Reusing's)
        self.forced = forced  # task ids --force names
        self.pending: dict[Node, Fingerprint] = {}  # fingerprints of nodes now running
        self.uncached: dict[Node, str] = {}  # running nodes that cannot be cached: why

    def decide(self, node: Node) -> bool:
        """Before ``node`` starts: True if it was settled (a read is missing: failed;
        up to date: cached)."""
        task, run = node.task, node.flow_run.run
        values = template_values(task, run.params, node.extra, run.partition)
        cached = task.options.cache and not node.report.parent  # children, subflows: not
        if cached and self.store is not None and task.id not in self.forced:
            success = self.fp.unchanged(task, node.id, run.partition or "", values,
                                        self._upstream(node), self.store)
            if success is not None:  # the null run's way: no fingerprint made
                self._take(node, success)
                return True
        stats: dict[str, Any] = {}  # one stat per read file
        reads, missing = self.fp.files(task, values, "reads", stats)
        if missing:
            line = f"declared read {missing[0]} does not exist (reads={list(task.options.reads)})"
            self.life.settle(node, FAILED, None, error=line, summary=line)
            return True
        if not cached:
            return False
        fp, why = self.fp.fingerprint(task, values, self._upstream(node), reads, stats)
        verdict = self.fp.judge(task, node.id, run.partition or "", fp, why, self.store,
                                values, forced=task.id in self.forced)
        if verdict.fresh and verdict.success is not None:
            self._take(node, verdict.success)
            return True
        if fp is None:
            self.uncached[node] = verdict.reasons[0]  # shown with its status: -v
        elif self.store is not None:
            self.pending[node] = fp
        return False

    def succeeded(self, node: Node, outcome: Any) -> None:
        """After a successful attempt: fail it if a declared write is missing, else
        record its fingerprint (reads as they were when it started)."""
        task, run = node.task, node.flow_run.run
        fp = self.pending.pop(node, None)
        if self.uncached:
            outcome.reason = outcome.reason or self.uncached.pop(node, None)
        if not task.options.writes and fp is None:
            return
        values = template_values(task, run.params, node.extra, run.partition)
        if fp is None:
            missing = self.fp.files(task, values, "writes")[1]
        else:
            fp, missing = self.fp.written(task, fp, values)
        if missing:
            line = f"declared write {missing[0]} was not produced by the task"
            outcome.status, outcome.error, outcome.summary = FAILED, line, line
            outcome.result = outcome.value = None
            return
        if fp is not None and not _held_elsewhere(outcome):
            success = Report(run_id=run.id, flow_id=run.flow_id, task_id=node.id,
                             status=SUCCEEDED, result=outcome.result,
                             result_format=outcome.result_format,
                             result_ref=outcome.result_ref, finished=outcome.finished)
            self.store.record_fingerprint(node.id, run.partition or "", fp.to_json(),
                                          success)

    def _upstream(self, node: Node) -> dict[str, str]:
        """The upstream part: each upstream task's result by hash."""
        task = node.task
        if not task.inputs:
            return {}
        return {up: self._upstream_digest(node.flow_run.nodes[up])
                for param, up in task.inputs.items() if param not in node.extra}

    def _upstream_digest(self, up: Node) -> str:
        """An upstream result by hash. A mapped task's list goes by its instances'
        results, each as stored: a pickle of the whole list depends on which strings
        happen to be shared, so it differs between instances that ran and were cached."""
        if up.instances is None:
            return self.digest(up).hex()
        joined = b"".join(self.digest(instance) for instance in up.instances)
        return blake2b(joined, digest_size=16).hexdigest()

    def dropped(self, node: Node) -> None:
        """The attempt did not succeed: its fingerprint is not kept."""
        self.pending.pop(node, None)

    def _take(self, node: Node, success: Report) -> None:
        node.reused = True
        node.pending = _Stored(success.result, success.result_format)  # decoded if used
        report = node.report
        report.result, report.result_format = success.result, success.result_format
        self.life.settle(node, CACHED, "up to date")


class _Stored:
    """A cached node's stored result, decoded when a downstream task or a reporter
    first asks for it (``Node.value``): a null run of a long chain decodes nothing."""

    __slots__ = ("blob", "fmt")

    def __init__(self, blob: bytes | None, fmt: str | None) -> None:
        self.blob, self.fmt = blob, fmt

    def get_value(self) -> Any:
        return results.loads(self.blob, self.fmt)


def _held_elsewhere(outcome: Any) -> bool:
    """A result an executor keeps (a Dask future) is not in the store: not cached. A
    task that returned None (no bytes either) is."""
    return outcome.ref is not None and outcome.result is None and outcome.result_ref is None


def make_caching(engine: Any, rootdir: str | None = None, hash_cache: str | None = None,
                 forced: frozenset[str] = frozenset()) -> Caching:
    """The engine's ``Caching`` (the session gives the rootdir and the stat cache)."""
    import os

    fingerprinter = Fingerprinter(rootdir or os.getcwd(), hash_cache)
    return Caching(fingerprinter, engine.storage, engine.life, engine.reusing.digest,
                   forced)
