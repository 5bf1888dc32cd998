"""Store records as the API shows them: runs, tasks (attempts grouped), logs. Times are
ISO 8601 in UTC; a task's status is its newest attempt's."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

#: What a run id, a task id and a flow id may look like in a path.
RUN_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
INDEX = re.compile(r"\[\d+\]")


def iso(stamp: float | None) -> str | None:
    if not stamp:
        return None
    return datetime.fromtimestamp(stamp, timezone.utc).isoformat(timespec="milliseconds")


def duration(start: float | None, end: float | None) -> float | None:
    return round(end - start, 6) if start and end else None


def run_json(run: Any) -> dict[str, Any]:
    return {"id": run.id, "flow_id": run.flow_id, "status": str(run.status),
            "started": iso(run.started), "ended": iso(run.finished),
            "duration": duration(run.started, run.finished), "partition": run.partition,
            "resumed_from": run.resumed_from,
            "counts": {str(k): int(v) for k, v in (run.counts or {}).items()},
            "params": _plain(run.params or {}), "pid": run.pid, "host": run.host,
            "error": getattr(run, "error", None)}


def attempt_json(report: Any) -> dict[str, Any]:
    return {"number": report.attempt, "status": str(report.status),
            "started": iso(report.started), "ended": iso(report.finished),
            "error": report.error or None, "reason": report.reason or None}


def tasks_json(reports: list[Any]) -> list[dict[str, Any]]:
    """One entry per task id, in the order each first appeared; attempts by number."""
    grouped: dict[str, list[Any]] = {}
    for report in reports:
        grouped.setdefault(report.task_id, []).append(report)
    return [task_json(task_id, sorted(group, key=lambda r: r.attempt))
            for task_id, group in grouped.items()]


def task_json(task_id: str, attempts: list[Any]) -> dict[str, Any]:
    last = attempts[-1]
    started = next((a.started for a in attempts if a.started), None)
    if started is None and str(last.status) == "running":
        started = getattr(last, "queued", None)  # its start is recorded when it ends
    return {"task_id": task_id, "status": str(last.status),
            "attempts": [attempt_json(a) for a in attempts if a.attempt > 0],
            "started": iso(started), "ended": iso(last.finished),
            "duration": duration(started, last.finished),
            "error": last.error or None, "reason": last.reason or None,
            "parent": last.parent or None}


def task_event(report: Any) -> dict[str, Any]:
    """The ``data`` of an ``event: task``: one attempt's new state."""
    return {"run_id": report.run_id, "task_id": report.task_id,
            "status": str(report.status), "attempt": report.attempt,
            "started": iso(report.started), "ended": iso(report.finished),
            "duration": duration(report.started, report.finished),
            "error": report.error or None, "reason": report.reason or None}


def log_json(report: Any) -> dict[str, Any]:
    return {"task_id": report.task_id, "attempt": report.attempt,
            "status": str(report.status), "stdout": report.stdout or "",
            "stderr": report.stderr or "", "log": report.log or ""}


def task_counts(reports: list[Any]) -> dict[str, int]:
    """Tasks per status by each task's newest attempt (a running run has no counts
    stored yet)."""
    newest: dict[str, Any] = {}
    for report in reports:
        if report.attempt >= getattr(newest.get(report.task_id), "attempt", -1):
            newest[report.task_id] = report
    counts: dict[str, int] = {}
    for report in newest.values():
        counts[str(report.status)] = counts.get(str(report.status), 0) + 1
    return counts


def group_id(task_id: str) -> str:
    """``flow::b[3]`` and ``flow::b[3]::fetch[0]`` -> ``flow::b`` and ``flow::b::fetch``:
    mapped instances and children collapse into one node."""
    return INDEX.sub("", task_id)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)
