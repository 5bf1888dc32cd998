"""``flowrun history [FLOW]``: past runs, newest first."""
from __future__ import annotations

import json
from typing import Any

import click

from flowrun.cli.store_options import json_option, open_store, store_option, table, when
from flowrun.model import slot_text
from flowrun.model_dicts import run_record
from flowrun.schemas import tag


def make_history_command(factory: Any) -> click.Command:
    @click.command("history")
    @click.argument("flow", required=False)
    @click.option("--status", type=click.Choice(["running", "succeeded", "failed",
                                                 "interrupted"]))
    @click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
    @store_option
    @json_option
    def history(flow: str | None, status: str | None, limit: int, store: str | None,
                as_json: bool) -> int:
        """Past runs, newest first."""
        storage = open_store(factory, store)
        runs = storage.list_runs(flow=flow, status=status, limit=limit)
        if as_json:
            click.echo(json.dumps([{"schema": tag("history"), **run_record(r)} for r in runs],
                                  indent=2))
            return 0
        if not runs:
            click.echo("no runs yet" + (f" of {flow}" if flow else ""))
            return 0
        partitioned = any(r.partition is not None for r in runs)
        scheduled = any(r.scheduled_for is not None for r in runs)  # --due runs' slots
        rows = [("RUN", "FLOW", *(("SLOT",) if scheduled else ()),
                 *(("PARTITION",) if partitioned else ()), "STATUS", "STARTED", "DURATION",
                 "TASKS")]
        for r in runs:
            duration = f"{r.finished - r.started:.2f}s" if r.finished else "-"
            tasks = ", ".join(f"{n} {s}" for s, n in sorted(r.counts.items())) or (
                f"not started: {r.error}" if r.error else "")
            partition = ((r.partition or "-"),) if partitioned else ()
            slot = (slot_text(r.scheduled_for) if r.scheduled_for is not None else "-",) \
                if scheduled else ()
            rows.append((r.id, r.flow_id, *slot, *partition, r.status, when(r.started),
                         duration, tasks))
        table(rows)
        return 0

    return history
