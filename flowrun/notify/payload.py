"""The notification document (JSON Schema ``notification``): what happened, to which
run, where to look; and the short text chat and mail channels show."""
from __future__ import annotations

from typing import Any

from flowrun.model import FAILED, Run
from flowrun.schemas import tag


def run_payload(event: str, run: Run, storage: Any, ui_url: str | None) -> dict[str, Any]:
    """The document of ``event`` for a finished (or still running) ``run``."""
    failed = failed_tasks(storage.attempts(run.id)) if run.status != "succeeded" else []
    duration = round((run.finished or 0) - run.started, 3) if run.finished else None
    payload = {
        "schema": tag("notification"), "event": event, "flow": run.flow_id,
        "run_id": run.id, "status": run.status, "host": run.host,
        "partition": run.partition, "scheduled_for": run.scheduled_for,
        "started": run.started, "finished": run.finished, "duration": duration,
        "error": run.error, "failed_tasks": failed,
        "url": f"{ui_url.rstrip('/')}/runs/{run.id}" if ui_url else None,
        "show": f"flowrun show {run.id}",
    }
    return with_text(payload)


def missed_payload(flow_id: str, slot: float, late: float,
                   ui_url: str | None) -> dict[str, Any]:
    """The document of a cron slot that did not start ``late`` seconds after its time."""
    payload = {
        "schema": tag("notification"), "event": "missed", "flow": flow_id, "run_id": None,
        "status": "missed", "host": None, "partition": None, "scheduled_for": slot,
        "started": None, "finished": None, "duration": None,
        "error": f"not started {late:.0f}s after its time", "failed_tasks": [],
        "url": f"{ui_url.rstrip('/')}/schedules" if ui_url else None, "show": None,
    }
    return with_text(payload)


def failed_tasks(attempts: list[Any]) -> list[dict[str, Any]]:
    """Each task whose last attempt failed: its id, that attempt's number and the
    first line of its error (the exception's own line)."""
    last: dict[str, Any] = {}
    for report in attempts:
        if report.attempt >= getattr(last.get(report.task_id), "attempt", 0):
            last[report.task_id] = report
    return [{"task_id": r.task_id, "attempt": r.attempt, "error": error_line(r)}
            for r in last.values() if r.status == FAILED]


def error_line(report: Any) -> str | None:
    """``ValueError: boom``, never ``Traceback (most recent call last):``."""
    if report.summary:
        return str(report.summary)
    lines = [line for line in (report.error or "").splitlines() if line.strip()]
    return lines[-1].strip() if lines else report.reason


def with_text(payload: dict[str, Any]) -> dict[str, Any]:
    """Add ``title`` and ``message``: what a chat or a mail shows."""
    where = f" (partition {payload['partition']})" if payload["partition"] else ""
    title = f"flowrun: {payload['flow']}{where} {payload['event'].replace('_', ' ')}"
    lines = [f"{payload['flow']}{where}: {payload['status']}"
             + (f" on {payload['host']}" if payload["host"] else "")
             + (f" after {payload['duration']:.1f}s" if payload["duration"] else "")]
    if payload["error"]:
        lines.append(payload["error"])
    lines += [f"- {t['task_id']} (attempt {t['attempt']}): {t['error']}"
              for t in payload["failed_tasks"][:20]]
    lines += [text for text in (payload["show"], payload["url"]) if text]
    return {**payload, "title": title, "message": "\n".join(lines)}


def sample_payload(ui_url: str | None) -> dict[str, Any]:
    """What ``flowrun notify test`` sends: a made-up failed run, marked ``test``."""
    import time

    now = time.time()
    run = {"schema": tag("notification"), "event": "test", "flow": "flows/flow_example.py",
           "run_id": "0123456789ab", "status": "failed", "host": _host(),
           "partition": None, "scheduled_for": None, "started": now - 2.5,
           "finished": now, "duration": 2.5, "error": None,
           "failed_tasks": [{"task_id": "flows/flow_example.py::load", "attempt": 3,
                             "error": "ValueError: a test notification from flowrun"}],
           "url": f"{ui_url.rstrip('/')}/runs/0123456789ab" if ui_url else None,
           "show": "flowrun show 0123456789ab"}
    return with_text(run)


def _host() -> str:
    import os

    return os.environ.get("FLOWRUN_HOSTNAME") or os.uname().nodename
