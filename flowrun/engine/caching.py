"""Declared files and cached tasks in a run (a collaborator the engine owns, beside
``Reusing``): before a node starts, its reads must exist and, when it is cached, its
fingerprint is made and judged (``flowrun.caching``); after it succeeds, its writes
must exist and its fingerprint is recorded with what they hold, and its quick key.

Only nodes of tasks that declare ``reads``/``writes`` or ``cache`` come here
(``Task.data_aware``): every other task pays one attribute test. A cached node whose
quick key is unchanged (``flowrun.fingerprint.quick_key``: one ``stat`` a declared
file, no fingerprint read or made) is settled the quick way: that is the whole of a
null run. Anything else is judged the long way, the one ``explain`` gives.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Callable

from flowrun.caching import (UP_TO_DATE, Fingerprinter, Verdict, instance_values,
                             store_of, template_values)
from flowrun.filehash import stat_signature
from flowrun.fingerprint import Fingerprint
from flowrun.hashing import blake2b
from flowrun.model import CACHED, FAILED, SUCCEEDED, Report
from flowrun.plugin import QuickFingerprintStore, results

if TYPE_CHECKING:
    from flowrun.engine.life import NodeLife
    from flowrun.engine.nodes import Node


class Caching:
    """The engine's rules for declared files and cached tasks."""

    def __init__(self, fingerprinter: Fingerprinter, storage: Any, life: NodeLife,
                 digest: Callable[[Node], bytes], forced: frozenset[str]) -> None:
        self.fp = fingerprinter
        self.store = store_of(storage)
        #: the store's quick keys, if it keeps them: a null run compares only those
        self.quick = self.store if isinstance(self.store, QuickFingerprintStore) else None
        self.quick_rows: dict[Any, dict[str, tuple]] = {}  # flow run -> the store's
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
        if cached and self.quick is not None and task.id not in self.forced \
                and self._quick(node, values):
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
            self._requick(node, values, verdict)
            self._take(node, verdict.success.result, verdict.success.result_format)
            return True
        if fp is None:
            self.uncached[node] = verdict.reasons[0]  # shown with its status: -v
        elif self.store is not None:
            self.pending[node] = fp
        return False

    def unchanged(self, group: Node) -> list[Node]:
        """The instances of ``group`` (a mapped task just fanned out) whose quick key
        holds, each taken its stored result but not settled (``NodeLife`` settles
        them together): a null run's mapped task in one pass."""
        task, run = group.task, group.flow_run.run
        if not task.options.cache or group.report.parent or self.quick is None \
                or task.id in self.forced:
            return []
        rows = self._quick_rows(group)
        known = [(node, row) for node in group.instances or ()
                 if (row := rows.get(node.id)) is not None]
        if not known:
            return []
        values_of = instance_values(task, run.params, run.partition)
        keys = self.fp.quick_keys(
            task, self._upstream(known[0][0]),  # alike: the item is not upstream
            (values_of(node.extra) for node, _ in known), self._signatures_now())
        fresh_since = self.fp.fresh_since(task)
        taken = []
        for (node, row), key in zip(known, keys):
            if key == row[0] and (row[4] or 0) >= fresh_since:
                self._take_row(node, row, settle=False)
                taken.append(node)
        return taken

    def _quick(self, node: Node, values: dict[str, Any]) -> bool:
        """The null run's way: settle ``node`` cached if its quick key now (one
        ``stat`` a declared file) is the one recorded, and it has not expired."""
        row = self._quick_rows(node).get(node.id)
        if row is None or (row[4] or 0) < self.fp.fresh_since(node.task):
            return False
        if self.fp.quick_key(node.task, values, self._upstream(node),
                             self._signatures_now()) != row[0]:
            return False
        self._take_row(node, row)
        return True

    def _signatures_now(self) -> Callable[[str], str | None]:
        """``signature`` for ``quick_key`` now: a ``stat`` of each declared file,
        relative to the rootdir opened once."""
        root = self.fp.root_fd()
        if root is None:
            rootdir = self.fp.rootdir
            return lambda path: stat_signature(os.path.join(rootdir, path))
        return lambda path: stat_signature(path, root)

    def _take_row(self, node: Node, row: tuple, settle: bool = True) -> None:
        if row[3] is not None:  # a big result, kept in a file: the store loads it
            success = self.store.get_fingerprint(node.id, node.flow_run.run.partition or "")[1]
            row = (row[0], success.result, success.result_format)
        self._take(node, row[1], row[2], settle)

    def _quick_rows(self, node: Node) -> dict[str, tuple]:
        """The store's quick keys for ``node``'s flow run, asked once."""
        fr = node.flow_run
        rows = self.quick_rows.get(fr)
        if rows is None:
            rows = self.quick_rows[fr] = self.quick.quick_fingerprints(  # type: ignore[union-attr]
                fr.run.flow_id, fr.run.partition or "")
        return rows

    def _requick(self, node: Node, values: dict[str, Any], verdict: Verdict) -> None:
        """A node found up to date the long way gets its quick key recorded, when it
        can have one now (its files were racily clean when it succeeded, or the store
        predates quick keys): the next null run takes the quick way."""
        if self.quick is None or verdict.recorded is None or verdict.fingerprint is None:
            return
        text, old = verdict.recorded
        fp = verdict.fingerprint
        key = self.fp.quick_key(node.task, values, fp.upstream, self.fp.recorded_signature(
            Fingerprint(reads=fp.reads, writes=old.writes)))
        if key is not None:
            self.quick.record_fingerprint(node.id, node.flow_run.run.partition or "", text,
                                          verdict.success, quick=key)

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
            if self.quick is None:
                self.store.record_fingerprint(node.id, run.partition or "", fp.to_json(),
                                              success)
                return
            key = self.fp.quick_key(task, values, fp.upstream,
                                    self.fp.recorded_signature(fp))
            self.quick.record_fingerprint(node.id, run.partition or "", fp.to_json(),
                                          success, quick=key)

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

    def _take(self, node: Node, result: bytes | None, result_format: str | None,
              settle: bool = True) -> None:
        node.reused = True
        node.pending = _Stored(result, result_format)  # decoded if used
        report = node.report
        report.result, report.result_format = result, result_format
        report.reason = UP_TO_DATE
        if settle:
            self.life.settle(node, CACHED, UP_TO_DATE)


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
    fingerprinter = Fingerprinter(rootdir or os.getcwd(), hash_cache)
    return Caching(fingerprinter, engine.storage, engine.life, engine.reusing.digest,
                   forced)
