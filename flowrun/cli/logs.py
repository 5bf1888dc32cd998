"""``flowrun logs RUN [TASK]``: the captured output of a run or of one task."""
from __future__ import annotations

from typing import Any

import click

from flowrun.cli.store_options import open_store, store_option
from flowrun.errors import UsageError


def make_logs_command(factory: Any) -> click.Command:
    @click.command("logs")
    @click.argument("run_id", metavar="RUN")
    @click.argument("task", required=False)
    @store_option
    def logs(run_id: str, task: str | None, store: str | None) -> int:
        """Captured output of a run, or of one task (by name or id)."""
        storage = open_store(factory, store)
        run = storage.get_run(run_id)
        attempts = [a for a in storage.attempts(run.id)
                    if task is None or a.task_id == task
                    or a.task_id.partition("::")[2] == task]
        if task is not None and not attempts:
            raise UsageError(f"run {run.id} has no task {task!r}")
        for a in attempts:
            sections = [("stdout", a.stdout), ("stderr", a.stderr), ("log", a.log),
                        ("error", a.error if a.status == "failed" else None)]
            sections = [(name, text) for name, text in sections if text]
            if not sections and task is None:
                continue
            click.echo(f"=== {a.task_id} (attempt {a.attempt}, {a.status}) ===")
            for name, text in sections:
                click.echo(f"--- {name} ---")
                click.echo(text.rstrip("\n"))
        return 0

    return logs
