"""``flowrun show RUN``: one run's tasks, attempts and times, and where the time went
(simpleflow's ``workflow.profile``: the critical path)."""
from __future__ import annotations

import json
import time
from dataclasses import fields
from typing import Any

import click

from flowrun.cli.store_options import (
    clock,
    json_option,
    open_store,
    store_option,
    table,
    when,
)
from flowrun.model import slot_text
from flowrun.model_dicts import run_record
from flowrun.schemas import tag


def make_show_command(factory: Any) -> click.Command:
    @click.command("show")
    @click.argument("run_id", metavar="RUN")
    @store_option
    @json_option
    def show(run_id: str, store: str | None, as_json: bool) -> int:
        """One run: every task's status, attempts, times and share of the run's time."""
        storage = open_store(factory, store)
        run = storage.get_run(run_id)
        attempts = storage.attempts(run.id)
        final = {a.task_id: a for a in attempts}  # the last attempt of each task
        trace = storage.trace_id(run.id) if hasattr(storage, "trace_id") else None
        if as_json:
            document = {**show_document(run, attempts), "trace_id": trace}
            click.echo(json.dumps(document, indent=2, default=repr))
            return 0
        total = (run.finished or time.time()) - run.started
        click.echo(f"run {run.id}  {run.flow_id}  {run.status}{_slot(run)}  started "
                   f"{when(run.started)}  took {total:.2f}s" + (
                       f"  resumed from {run.resumed_from}" if run.resumed_from else ""))
        if trace:  # traced with OpenTelemetry (--otel): find it in the tracing backend
            click.echo(f"trace: {trace}")
        if run.error:  # it failed before its first task
            click.echo(f"error: {run.error}")
            if not final:
                return 0
        critical = critical_path(list(final.values()))
        rows = [("", "TASK", "STATUS", "ATTEMPTS", "QUEUED", "START", "END", "DURATION",
                 "SHARE", "WHY")]
        for a in final.values():
            share = f"{100 * a.duration / total:.0f}%" if total > 0 and a.started else "-"
            rows.append(("*" if a.task_id in critical else "", a.task_id.partition("::")[2],
                         a.status, str(a.attempt), clock(a.queued), clock(a.started),
                         clock(a.finished), f"{a.duration:.3f}s" if a.started else "-", share,
                         a.reason or (a.summary if a.status == "failed" else "") or ""))
        table(rows)
        if critical:
            click.echo("* critical path: the chain of tasks that set the run's length")
        return 0

    return show


def show_document(run: Any, attempts: list[Any]) -> dict[str, Any]:
    """``show --json`` (schema ``show``): the run record and every attempt's report,
    without the stored result (bytes) and the engine's own retry flag."""
    names = [f.name for f in fields(attempts[0])] if attempts else []
    return {"schema": tag("show"), "run": run_record(run), "tasks": [
        {name: getattr(a, name) for name in names if name not in ("result", "will_retry")}
        for a in attempts]}


def _slot(run: Any) -> str:
    """The cron slot (and partition) a ``--due`` run was for, as its terminal line says."""
    text = f"  slot {slot_text(run.scheduled_for)}" if run.scheduled_for is not None else ""
    return text + (f"  partition {run.partition}" if run.partition is not None else "")


def critical_path(reports: list[Any]) -> set[str]:
    """Task ids on the critical path, found from times alone (the store keeps no
    edges): start from the task that finished last and step back to the task whose end
    released it, i.e. the latest finish at or before its queue time."""
    timed = [r for r in reports if r.started and r.finished]
    if not timed:
        return set()
    current = max(timed, key=lambda r: r.finished)
    path = {current.task_id}
    while True:
        released_at = (current.queued or current.started) + 1e-3
        before = [r for r in timed if r.finished <= released_at and r.task_id not in path]
        if not before:
            return path
        current = max(before, key=lambda r: r.finished)
        path.add(current.task_id)
