"""Which stored task results a new run may take instead of running the task again
(``--resume``, and watch mode's task-level reruns).

A task's result is reusable when it succeeded (or was itself reused), its code is the
same (``flowrun.plugin.source``) and the parameters it takes have the same values. The engine
reuses a task only if everything upstream of it was reused too, so whatever follows a
changed task runs again.

A mapped instance, submitted child or subflow task (a node not written in the file)
is reused by its own id, code and arguments instead (``stored_nodes``): the engine
takes its stored result when the node's ``args_hash`` and code hash match, whatever
ran upstream of it, so a deterministic parent that resubmits gets its children's
results back and a child whose arguments changed runs again.
"""
from __future__ import annotations

from typing import Any

from flowrun.model import HAS_RESULT, Report, Run
from flowrun.plugin.source import task_source_hash


def reusable_results(storage: Any, flow: Any, run: Run, params: dict[str, Any]
                     ) -> tuple[dict[str, Report], list[str]]:
    """(task name -> stored report to reuse, names of tasks whose code changed)."""
    return _reusable(final_reports(storage, run), flow, run, params)


def resume_plan(storage: Any, flow: Any, run: Run, params: dict[str, Any]
                ) -> tuple[dict[str, Report], dict[str, Report], list[str]]:
    """What ``--resume`` of ``run`` reuses: (task name -> report, node id -> report of
    instances, children and subflow tasks, names of tasks whose code changed)."""
    final = final_reports(storage, run)
    reuse, changed = _reusable(final, flow, run, params)
    return reuse, stored_nodes(final), changed


def stored_nodes(final: dict[str, Report]) -> dict[str, Report]:
    """The nodes not written in the file (they carry an ``args_hash``) that succeeded."""
    return {tid: r for tid, r in final.items() if r.args_hash and r.status in HAS_RESULT}


def _reusable(final: dict[str, Report], flow: Any, run: Run, params: dict[str, Any]
              ) -> tuple[dict[str, Report], list[str]]:
    reuse: dict[str, Report] = {}
    changed = []
    for task in flow.tasks.values():
        stored = final.get(task.id)
        if stored is None or stored.status not in HAS_RESULT:
            continue
        if stored.source_hash and stored.source_hash != task_source_hash(task.fn):
            changed.append(task.name)
            continue
        if any(params.get(p) != run.params.get(p, d) for p, d in task.params.items()):
            continue
        reuse[task.name] = stored
    return reuse, changed


def final_reports(storage: Any, run: Run, depth: int = 50) -> dict[str, Report]:
    """The newest record of each task along the chain of resumed runs.

    A run killed before it flushed may lack rows for tasks it reused; the run it
    resumed from then still knows them. A task's newest row wins, whatever its status.
    """
    final: dict[str, Report] = {}
    current: Run | None = run
    while current is not None and depth > 0:
        newest: dict[str, Report] = {}
        for report in storage.attempts(current.id, with_results=True):
            newest[report.task_id] = report  # the last attempt of each task in this run
        for task_id, report in newest.items():
            final.setdefault(task_id, report)
        current = storage.get_run(current.resumed_from) if current.resumed_from else None
        depth -= 1
    return final
