"""``flowrun logs RUN [TASK]``: the captured output of a run or of one task (every
instance of a mapped task), as text or as JSON (schema ``logs``)."""
from __future__ import annotations

import json
import re
from typing import Any

import click

from flowrun.cli.store_options import json_option, open_store, store_option
from flowrun.errors import UsageError
from flowrun.schemas import tag


def make_logs_command(factory: Any) -> click.Command:
    @click.command("logs")
    @click.argument("run_id", metavar="RUN", required=False)
    @click.argument("task", required=False)
    @click.option("--grep", metavar="TEXT",
                  help="Search every stored log for TEXT's words (instead of RUN).")
    @click.option("--flow", metavar="FLOW", help="With --grep: only that flow's runs.")
    @store_option
    @json_option
    def logs(run_id: str | None, task: str | None, grep: str | None, flow: str | None,
             store: str | None, as_json: bool) -> int:
        """Captured output of a run, or of one task (by name or id; a mapped task: every
        instance); or, with --grep, matching lines of every run."""
        _check(run_id, grep, flow)
        storage = open_store(factory, store)
        if grep is not None:
            from flowrun.cli.log_search import grep_logs

            return grep_logs(storage, grep, flow, as_json)
        run = storage.get_run(run_id)
        attempts = storage.attempts(run.id)
        if task is not None:
            attempts = select_task(attempts, task)
            if not attempts:
                known = sorted({a.task_id.partition("::")[2] for a in storage.attempts(run.id)})
                raise UsageError(f"run {run.id} has no task {task!r}{_hint(task, known)}")
        if as_json:
            click.echo(json.dumps(logs_document(run, task, attempts), indent=2))
            return 0
        for a in attempts:
            _print_attempt(a, show_empty=task is not None)
        return 0

    return logs


def _check(run_id: str | None, grep: str | None, flow: str | None) -> None:
    if grep is not None and run_id is not None:
        raise UsageError("flowrun logs: --grep searches every run; leave out RUN (narrow "
                         "with --flow FLOW)")
    if grep is None and run_id is None:
        raise UsageError("flowrun logs: give a RUN (see `flowrun history`), or --grep TEXT "
                         "to search every run")
    if flow is not None and grep is None:
        raise UsageError("flowrun logs: --flow goes with --grep TEXT")


def select_task(attempts: list[Any], task: str) -> list[Any]:
    """The attempts of ``task`` (an id or a name), or of every instance of it when it is
    mapped (``enrich`` -> ``enrich[0]``, ``enrich[1]``...), instances in index order."""
    instance = re.compile(re.escape(task) + r"\[(\d+)\]")
    found = []
    for a in attempts:
        name = a.task_id.partition("::")[2]
        if task in (a.task_id, name):
            found.append((-1, a))
        else:
            match = instance.fullmatch(a.task_id) or instance.fullmatch(name)
            if match:
                found.append((int(match.group(1)), a))
    found.sort(key=lambda pair: pair[0])  # stable: each instance's attempts stay in order
    return [a for _, a in found]


def logs_document(run: Any, task: str | None, attempts: list[Any]) -> dict[str, Any]:
    return {"schema": tag("logs"), "run_id": run.id, "flow_id": run.flow_id, "task": task,
            "attempts": [{"task_id": a.task_id, "attempt": a.attempt, "status": a.status,
                          "label": a.label, "stdout": a.stdout, "stderr": a.stderr,
                          "log": a.log, "error": a.error if a.status == "failed" else None}
                         for a in attempts]}


def _print_attempt(a: Any, show_empty: bool) -> None:
    sections = [("stdout", a.stdout), ("stderr", a.stderr), ("log", a.log),
                ("error", a.error if a.status == "failed" else None)]
    sections = [(name, text) for name, text in sections if text]
    if not sections and not show_empty:
        return
    click.echo(f"=== {a.task_id} (attempt {a.attempt}, {a.status}) ===")
    for name, text in sections:
        click.echo(f"--- {name} ---")
        click.echo(text.rstrip("\n"))


def _hint(task: str, known: list[str]) -> str:
    from flowrun.option_checks import did_you_mean

    return did_you_mean(task, known)
