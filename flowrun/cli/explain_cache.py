"""``flowrun explain`` for tasks that declare files or are cached: judged by
``flowrun.caching``, as the run will judge them, each changed part named with its old
and new value (a file's hash and size, a parameter's value, a helper's file and line,
an upstream task and whether its result changed).

An upstream task that will run makes its downstream's verdict wait for the run (its
result may come out the same: early cutoff), unless something else already makes the
downstream run.
"""
from __future__ import annotations

from typing import Any

from flowrun.caching import Fingerprinter, result_digest, store_of, template_values
from flowrun.fingerprint import Fingerprint
from flowrun.model import Task
from flowrun.plugin import results

CACHED, RUN, FAIL = "cached", "run", "fail"


def judge_files(task: Task, ups: list[Any], v: Any, params: dict[str, Any],
                fingerprinter: Fingerprinter) -> bool:
    """A declared read that is missing now fails the task: True if so (unless a task
    that writes it runs first)."""
    if not task.options.reads or task.options.each is not None or _writers_run(task, ups):
        return False
    values = template_values(task, params, {}, None)
    missing = fingerprinter.files(task, values, "reads")[1]
    if missing:
        v.verdict, v.reasons = FAIL, [f"declared read {missing[0]} does not exist"]
    return bool(missing)


def judge_cached(task: Task, ups: list[Any], params: dict[str, Any], v: Any, storage: Any,
                 fingerprinter: Fingerprinter, forced: bool) -> None:
    """Set ``v`` (an ``explain`` verdict) for a task with ``cache=``."""
    if task.options.each is not None:
        v.reasons = ["decided at run time: each instance has its own fingerprint"]
        return
    store = store_of(storage)
    by_name = {u.task: u for u in ups}
    upstream, waiting = {}, _writers_run(task, ups)
    for param, up in task.inputs.items():
        u = by_name.get(up)
        if u is not None and u.known and u.blob is not None:
            upstream[up] = result_digest(u.blob)
        else:
            waiting.append(up)
    values = template_values(task, params, {}, None)
    reads = fingerprinter.files(task, values, "reads")[0]
    fp, why = fingerprinter.fingerprint(task, values, upstream, reads)
    if fp is not None and waiting and store is not None:
        fp = _assume_unchanged(fp, store.get_fingerprint(task.id, ""), waiting)
    verdict = fingerprinter.judge(task, task.id, "", fp, why, store, values, forced)
    if waiting and not verdict.fresh and verdict.fingerprint is not None:
        verdict.changes = [c for c in verdict.changes if c.kind not in ("read", "upstream")]
        verdict.fresh = not verdict.changes and verdict.reasons[0] != "forced" \
            and verdict.success is not None  # reads and results come from the run
        verdict.reasons = [c.describe() for c in verdict.changes] or verdict.reasons
    v.extra["changes"] = [c.to_dict() for c in verdict.changes]
    if verdict.fresh and waiting:
        v.verdict, v.changed = RUN, False
        v.reasons = [f"decided at run time: {', '.join(dict.fromkeys(waiting))} runs "
                     "first; cached if what it passes on comes out unchanged"]
        return
    if verdict.fresh and verdict.success is not None:
        v.verdict, v.known, v.changed = CACHED, True, False
        v.blob = verdict.success.result
        v.value = results.loads(verdict.success.result, verdict.success.result_format)
        v.reasons = [f"up to date (succeeded in run {verdict.success.run_id})"]
        v.extra["reused_by"] = "up_to_date"
        return
    v.verdict, v.changed, v.reasons = RUN, True, verdict.reasons


def _writers_run(task: Task, ups: list[Any]) -> list[str]:
    """The tasks that write what ``task`` reads and run before it."""
    return [u.task for u in ups if u.task in task.file_upstream and u.verdict == RUN]


def _assume_unchanged(fp: Fingerprint, recorded: Any, waiting: list[str]) -> Fingerprint:
    """``fp`` with the recorded digests of the upstream tasks that run first: any other
    change already decides; none means the run decides."""
    old = Fingerprint.from_json(recorded[0]) if recorded else None
    if old is None:
        return fp
    upstream = {**fp.upstream, **{u: old.upstream[u] for u in waiting if u in old.upstream}}
    return Fingerprint(code=fp.code, params=fp.params, upstream=upstream, reads=fp.reads,
                       writes=fp.writes, version=fp.version)
