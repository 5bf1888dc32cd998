"""[plugin] ``--report-json PATH``: one JSON document per invocation, for scripts and
dashboards: every run with its parameters and status, every task with its status,
times, error and each attempt, files that failed to collect, and the exit code.

The shape is versioned by ``"version"`` (``SCHEMA_VERSION``), named by ``"schema"``
(``report/2``: its JSON Schema is ``flowrun schema report``) and documented in the
README; a change that renames or removes a field bumps it. The reporter registers
itself only when the option is given.
"""
from __future__ import annotations

import json
import os
import time
from typing import Any

from flowrun.plugin import (RUN_RECORD_VERSION, Report, Run, UsageError, check_output_path,
                            hookimpl, run_record)

PLUGIN_NAME = "json-report-writer"
SCHEMA_VERSION = RUN_RECORD_VERSION  # 2: runs are run_record()s (flow -> flow_id)
#: The document's ``"schema"`` (flowrun/schemas/report.json; ``flowrun schema report``).
SCHEMA = f"report/{SCHEMA_VERSION}"


@hookimpl
def flowrun_addoption(parser: Any) -> None:
    parser.addoption("--report-json", "report_json", metavar="PATH",
                     help="Write a JSON report of the runs to PATH.")


@hookimpl
def flowrun_configure(config: Any) -> None:
    path = config.getoption("report_json")
    if path is not None and not config.pluginmanager.has_plugin(PLUGIN_NAME):
        config.pluginmanager.register(JsonReport(check_output_path("--report-json", str(path))),
                                     PLUGIN_NAME)


def _attempt(r: Report) -> dict[str, Any]:
    return {"attempt": r.attempt, "status": r.status, "started": r.started,
            "finished": r.finished, "duration": round(r.duration, 6),
            "summary": r.summary, "error": r.error}


def _task(r: Report, earlier: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": r.task_id, "name": r.task_id.partition("::")[2], "status": r.status,
        "attempts": [*earlier, _attempt(r)] if r.attempt else earlier,
        "queued": r.queued, "started": r.started, "finished": r.finished,
        "duration": round(r.duration, 6), "reason": r.reason, "summary": r.summary,
        "error": r.error, "run_key": r.run_key, "parent": r.parent,
        "stdout": r.stdout, "stderr": r.stderr, "log": r.log,
    }


def _run(run: Run, tasks: list[dict[str, Any]]) -> dict[str, Any]:
    return {**run_record(run), "tasks": tasks}


class JsonReport:
    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        self.started = time.time()
        self.runs: dict[str, Run] = {}
        self.tasks: dict[str, list[dict[str, Any]]] = {}
        self.earlier: dict[tuple[str, str], list[dict[str, Any]]] = {}

    @hookimpl
    def flowrun_run_start(self, run: Run) -> None:
        self.runs[run.id] = run
        self.tasks.setdefault(run.id, [])

    @hookimpl
    def flowrun_task_finish(self, task: Report) -> None:
        key = (task.run_id, task.task_id)
        if task.will_retry:  # snapshot now: the engine reuses the object
            self.earlier.setdefault(key, []).append(_attempt(task))
            return
        entry = _task(task, self.earlier.pop(key, []))
        self.tasks.setdefault(task.run_id, []).append(entry)

    @hookimpl
    def flowrun_session_finish(self, session: Any, exit_code: int) -> None:
        from flowrun.plugin import __version__

        runs = [_run(run, self.tasks.get(run_id, [])) for run_id, run in self.runs.items()]
        summary: dict[str, int] = {}
        for run in runs:
            for task in run["tasks"]:
                summary[task["status"]] = summary.get(task["status"], 0) + 1
        document = {
            "schema": SCHEMA, "version": SCHEMA_VERSION, "flowrun": __version__, "created": self.started,
            "duration": round(time.time() - self.started, 6), "exit_code": exit_code,
            "summary": summary, "runs": runs,
            "collect_errors": [{"where": getattr(e, "where", ""), "message": str(e),
                                "detail": getattr(e, "detail", "")} for e in session.errors],
        }
        try:
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            with open(self.path, "w", encoding="utf-8") as handle:
                json.dump(document, handle, indent=2, default=repr)
                handle.write("\n")
        except OSError as exc:
            raise UsageError(f"--report-json {self.path}: cannot write: "
                             f"{exc.strerror}") from None
