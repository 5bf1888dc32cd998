"""Taking a stored result instead of running: ``--resume`` and ``run_key`` (a
collaborator the engine owns).

A task written in the file is reused on ``--resume`` when its stored result is
reusable (``flowrun.reuse``) and everything upstream of it was reused too. Every other
node — a mapped instance ``t[3]``, a child ``parent::fetch[0]``, a subflow task
``parent::flow_x::t`` — is the same node across runs when its id, its code and a hash
of its arguments (``args_hash``) match; then its stored result is reused, whatever ran
before it. A ``run_key`` is looked up by key (for an instance: among every instance of
its task, so a file already processed is skipped wherever it sits in the list).
"""
from __future__ import annotations

import pickle
from typing import TYPE_CHECKING, Any, Callable

from flowrun.plugin import results
from flowrun.engine.nodes import Node
from flowrun.hashing import blake2b
from flowrun.model import CACHED, FAILED, HAS_RESULT, Report
from flowrun.plugin import format_user_error
from flowrun.plugin.source import task_source_hash

if TYPE_CHECKING:
    from flowrun.engine.life import NodeLife


class Reusing:
    """The engine's reuse rules."""

    def __init__(self, storage: Any, life: NodeLife,
                 kwargs: Callable[[Node], dict[str, Any]]) -> None:
        self.storage, self.life = storage, life
        self.kwargs = kwargs  # a node's arguments, as its attempt would get them
        self.digests: dict[Node, bytes] = {}  # upstream node -> digest of its result
        #: a child or subflow task -> the node of that id an earlier attempt of its
        #: parent made in this run
        self.prior: dict[Node, Node] = {}

    def task(self, node: Node) -> bool:
        """``--resume`` of a task written in the file: True if it was settled."""
        request = node.flow_run.request
        stored = request.reuse.get(node.task.name)
        if stored is None or node.group is not None or node.report.parent is not None \
                or not all(u.reused or u.task.name in request.rerun_alone
                           for u in node.upstream):
            return False
        self._take(node, stored, f"resumed from run {stored.run_id}")
        return True

    def node(self, node: Node) -> bool:
        """``--resume`` of an instance, child or subflow task: hash its arguments (kept
        on its record) and take the stored result if id, code and arguments match."""
        node.report.args_hash = digest = self.args_hash(node)
        prior = self.prior.pop(node, None) if self.prior else None
        if prior is not None and digest and prior.status in HAS_RESULT \
                and prior.report.args_hash == digest:
            node.reused = True
            node.value, node.ref = prior.value, prior.ref
            node.report.result = prior.report.result
            node.report.result_format = prior.report.result_format
            self.life.settle(node, CACHED, "result reused from an earlier "
                                         f"attempt of {node.report.parent}")
            return True
        stored = node.flow_run.request.stored.get(node.id) if digest else None
        if stored is None or digest is None or stored.args_hash != digest:
            return False
        task = node.task
        if not task.source_hash:
            task.source_hash = task_source_hash(task.fn)
        if stored.source_hash and stored.source_hash != task.source_hash:
            return False
        self._take(node, stored, f"resumed from run {stored.run_id}")
        return True

    def follows(self, node: Node, prior: Node) -> None:
        """``node`` has the id of ``prior``, made by an earlier attempt of its parent in
        this run: its attempts go on counting, and it may take ``prior``'s result."""
        node.attempt = prior.attempt
        self.prior[node] = prior

    def earlier_instances(self, group: Node) -> list[Node]:
        """The instances of the mapped task an earlier attempt of ``group``'s parent
        made (a subflow's mapped task), so that they follow on by position."""
        prior = self.prior.pop(group, None) if self.prior else None
        return (prior.instances or []) if prior is not None else []

    def run_key(self, node: Node) -> bool:
        """A task with ``run_key``: True if it was settled (cached, or its key failed)."""
        life = self.life
        try:
            key = str(node.task.options.run_key(**self.kwargs(node)))
        except Exception as exc:  # noqa: BLE001 - the user's run_key failed
            error, summary = format_user_error(exc)
            life.settle(node, FAILED, None, error=error, summary=f"run_key: {summary}")
            return True
        node.report.run_key = key
        hit = self.storage.find_cached(node.group.id if node.group else node.id,
                                       key, instances=node.group is not None)
        if hit is None:
            return False
        self._take(node, hit, f"run key {key!r} (succeeded in run {hit.run_id})")
        return True

    def args_hash(self, node: Node, shared: tuple[list[Any], bool] | None = None
                  ) -> str | None:
        """A hash of the node's arguments: its upstream results (by their stored bytes),
        flow parameters and own values (item, submit() arguments). None when an
        argument cannot be pickled: such a node is never reused. ``shared``: what
        ``shared_arguments`` gave for another instance of the same mapped task."""
        prefix, flat = shared or self.shared_arguments(node)
        own = sorted(node.extra.items())  # keys differ: values never compared
        parts = prefix + own
        try:
            blob = pickle.dumps(parts, protocol=4) if flat and _flat(own) \
                else canonical_pickle(parts)
        except Exception:  # noqa: BLE001 - an argument that cannot be pickled
            return None
        return blake2b(blob, digest_size=16).hexdigest()

    def shared_arguments(self, node: Node) -> tuple[list[Any], bool]:
        """The arguments every instance of ``node``'s mapped task has alike (its name,
        upstream results, flow parameters), and whether they pickle as they are."""
        task = node.task
        parts: list[Any] = [task.name.rpartition("::")[2]]
        nodes = node.flow_run.nodes
        for param, upstream in task.inputs.items():
            if param not in node.extra:
                parts.append((param, self.digest(nodes[upstream])))
        run_params = node.flow_run.run.params
        parts.extend((p, run_params.get(p, d)) for p, d in task.params.items()
                     if p not in node.extra)
        return parts, _flat(parts)

    def digest(self, up: Node) -> bytes:
        digest = self.digests.get(up)
        if digest is None:
            blob = up.report.result
            if blob is None and up.report.result_ref:  # big, kept in a file: named by content
                blob = up.report.result_ref.encode()
            elif blob is None and up.value is not None:
                try:
                    blob = results.dumps(up.value)[0]
                except results.UnpicklableResult:
                    blob = repr(id(up)).encode()  # unique this run: never reused
            digest = self.digests[up] = blake2b(blob or b"", digest_size=16).digest()
        return digest

    def _take(self, node: Node, stored: Report, reason: str) -> None:
        node.reused = True
        node.value = results.loads(stored.result, stored.result_format)
        report = node.report
        report.result, report.result_format = stored.result, stored.result_format
        report.source_hash = stored.source_hash or report.source_hash
        report.run_key = stored.run_key if report.run_key is None else report.run_key
        self.life.settle(node, CACHED, reason)


def canonical_pickle(obj: Any) -> bytes:
    """A pickle of ``obj`` with every set in one order whatever the hash seed (a set of
    strings iterates differently in every process), so equal arguments hash alike."""
    return pickle.dumps(obj if _flat(obj) else _sets_sorted(obj), protocol=4)


_ATOMS = frozenset({str, bytes, int, float, bool, type(None)})


def _flat(obj: Any) -> bool:
    """A list of plain values and of distinct tuples of plain values (a mapped
    instance's usual arguments): pickled as it is, it gives the very bytes of its
    sets-sorted copy, which costs a third of the hash to make."""
    if type(obj) is not list:
        return False
    tuples: set[int] = set()
    for part in obj:
        kind = type(part)
        if kind is tuple:
            if id(part) in tuples or not _ATOMS.issuperset(map(type, part)):
                return False
            tuples.add(id(part))
        elif kind not in _ATOMS:
            return False
    return True


def _sets_sorted(obj: Any) -> Any:
    kind = type(obj)
    if kind in (set, frozenset):
        return ("<set>", kind.__name__, sorted((_sets_sorted(x) for x in obj),
                                               key=lambda x: pickle.dumps(x, protocol=4)))
    if kind in (list, tuple):
        return kind(_sets_sorted(x) for x in obj)
    if kind is dict:
        return {key: _sets_sorted(value) for key, value in obj.items()}
    return obj
