"""``flowrun catalog [PATH]...``: every collected flow as machine-readable data
(tags, schedule and next fire time, parameters with their types, tasks and edges,
partitions), collection errors included. Tools that must not import flow code
(``flowrun ui``) read this from a subprocess. ``--keys START..END`` with one flow:
the partition keys a ``--backfill`` of that range covers, oldest first.
"""
from __future__ import annotations

import json
import os
from datetime import timezone
from typing import Any

import click

from flowrun.errors import UsageError
from flowrun.schemas import tag

#: Time partitions listed per partitioned flow (the newest).
TIME_KEYS = 60


def make_catalog_command(factory: Any) -> click.Command:
    @click.command("catalog")
    @click.argument("args", nargs=-1, metavar="[PATH]...")
    @click.option("--keys", "keys", metavar="START..END",
                  help="With one partitioned flow: the keys this range covers.")
    def catalog(args: tuple[str, ...], keys: str | None) -> int:
        """Every collected flow as JSON, collection errors included."""
        from flowrun.session import Session

        session = Session(factory.make({}))
        session.collect(list(args))
        if keys is not None:
            click.echo(json.dumps(_backfill_keys(session.flows, keys)))
            return 0
        rows = [flow_row(flow, session.config.rootdir) for flow in session.flows]
        rows += [{"schema": tag("catalog"), "id": error.where.split("::")[0],
                  "error": str(error)} for error in session.errors]
        click.echo(json.dumps(sorted(rows, key=lambda row: row["id"]), indent=1,
                              default=repr))
        return 0

    return catalog


def flow_row(flow: Any, rootdir: str) -> dict[str, Any]:
    """One flow as the listing shows it."""
    return {
        "schema": tag("catalog"), "id": flow.id, "tags": list(flow.tags), "schedule": flow.schedule,
        "timezone": flow.timezone, "next_due": _next_due(flow),
        "mtime": _mtime(os.path.join(rootdir, flow.id)),
        "params": [{"name": name, "default": _plain(default),
                    "type": type(default).__name__}
                   for name, default in flow.params.items()],
        "tasks": [{"name": t.name, "id": t.id, "upstream": list(t.upstream),
                   "mapped": bool(t.options.each), "tags": list(t.tags),
                   "task_type": t.task_type} for t in flow.tasks.values()],
        "partitions": _partitions(flow),
        "as_data": flow.to_dict(),
    }


def _next_due(flow: Any) -> str | None:
    if not flow.schedule:
        return None
    from flowrun.schedules import cron
    from flowrun.schedules.due import now

    upcoming = cron.Schedule(flow.schedule, cron.zone(flow.timezone)).next_times(now(), 1)
    return upcoming[0].astimezone(timezone.utc).isoformat() if upcoming else None


def _partitions(flow: Any) -> dict[str, Any] | None:
    from flowrun.schedules.due import now, partitions_of

    parts = partitions_of(flow)
    if parts is None:
        return None
    times = parts.time_keys(None, parts.wall(now()))[-TIME_KEYS:]
    return {"granularity": parts.granularity, "categories": list(parts.categories),
            "time_keys": times,
            "keys": [parts.keys_for(t) for t in times] if parts.granularity
            else [parts.keys_for(None)]}


def _backfill_keys(flows: list[Any], spec: str) -> list[str]:
    from flowrun.schedules.due import now, partitions_of

    if len(flows) != 1 or partitions_of(flows[0]) is None:
        raise UsageError("--keys needs exactly one partitioned flow")
    try:
        return partitions_of(flows[0]).backfill_keys(spec, now())
    except ValueError as exc:
        raise UsageError(f"--keys {spec}: {exc}") from None


def _plain(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)


def _mtime(path: str) -> float | None:
    try:
        return os.path.getmtime(path)
    except OSError:
        return None
