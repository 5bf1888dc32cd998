"""How far the session is: the tasks it runs, counted from the runs it planned.

The total starts from the planned runs (each run's selected tasks, so ``--resume``,
``--due`` and ``--backfill`` end at 100%), and grows by the nodes a run makes as it goes:
a mapped task's instances replace it in the count, submitted children and subflow tasks
add to it. Counting is per run, so two runs of one flow never share a node.
"""
from __future__ import annotations

from typing import Any

from flowrun.plugin import Report


class Progress:
    def __init__(self) -> None:
        self.total = 0
        self.done = 0
        self.planned: dict[str, set[str]] = {}  # flow id -> task ids a run of it starts with
        self.mapped: dict[str, set[str]] = {}   # flow id -> ids of its mapped tasks
        self.grown: set[tuple[str, str]] = set()     # (run id, task id) added at run time
        self.replaced: set[tuple[str, str]] = set()  # (run id, mapped task) now instances

    def collected(self, flows: list[Any]) -> None:
        """Before any run is planned (the header, ``--collect-only``)."""
        self.total = sum(len(flow.selected_tasks) for flow in flows)

    def planned_runs(self, requests: list[Any]) -> None:
        self.total = 0
        for request in requests:
            tasks = request.flow.selected_tasks
            self.planned[request.flow.id] = {t.id for t in tasks}
            self.mapped[request.flow.id] = {t.id for t in tasks if t.options.each is not None}
            self.total += len(tasks)

    def finished(self, report: Report) -> None:
        self._grow(report)
        self.done += 1

    def _grow(self, report: Report) -> None:
        key = (report.run_id, report.task_id)
        if report.task_id in self.planned.get(report.flow_id, ()) or key in self.grown:
            return
        self.grown.add(key)
        self.total += 1
        group = (report.run_id, report.task_id.rpartition("[")[0])
        if group[1] in self.mapped.get(report.flow_id, ()) and group not in self.replaced:
            self.replaced.add(group)
            self.total -= 1  # the instances stand for their task

    def percent(self) -> str:
        share = min(100, 100 * self.done // max(1, self.total))
        return f"[{share:3d}%]"
