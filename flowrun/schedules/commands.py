"""``flowrun schedule`` (every scheduled flow: cron, zone, last slot, next fire times),
``flowrun cron`` (the crontab line to install) and ``flowrun partitions FLOW`` (a
status grid of a partitioned flow's partitions, from the store).
"""
from __future__ import annotations

import json
import os
import shlex
import sys
from datetime import datetime
from typing import Any

import click

from flowrun.plugin import COLLECT, PauseStore, SlotStore, UsageError, open_storage
from flowrun.plugin import schema_tag as tag  # the "schema" field of a JSON output
from flowrun.schedules import cron as schedule
from flowrun.schedules.due import now, partition_statuses, partitions_of
from flowrun.schedules.slots_view import iso, paused_since, slot_rows

CRON_LOG = os.path.join(".flowrun", "cron.log")
#: ``flowrun schedule pause|resume|unpause FLOW`` -> paused or not
ACTIONS = {"pause": True, "resume": False, "unpause": False}
SHORT = {"succeeded": "ok", "failed": "FAILED", "interrupted": "INTERRUPTED",
         "running": "running"}


def _collect(factory: Any, store: str | None, args: list[str]) -> tuple[Any, list[Any]]:
    """The config and the collected, selected flows; collection errors go to stderr."""
    config = factory.make({"store": store})
    session = config.stash[COLLECT](args)
    for error in session.errors:
        click.echo(f"ERROR collecting {error.where}: {error}", err=True)
    return config, session


def _one_flow(config: Any, target: str, command: str = "partitions") -> Any:
    """The one flow in ``target``; its collection error is the user's error."""
    session = config.stash[COLLECT]([target])
    if session.errors:
        raise session.errors[0]
    if len(session.flows) != 1:
        raise UsageError(f"{target}: not a flow file (flowrun {command} takes one flow file)")
    return session.flows[0]


def _when(stamp: float | None, tz: Any) -> str:
    if stamp is None:
        return "-"
    return datetime.fromtimestamp(stamp, tz).strftime("%Y-%m-%d %H:%M %Z")


def make_schedule_command(factory: Any) -> click.Command:
    @click.command("schedule")
    @click.argument("args", nargs=-1, metavar="[PATH]... | pause|resume|unpause FLOW")
    @click.option("--store", metavar="URL", help="Where runs are kept.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
    def schedule_command(args: tuple[str, ...], store: str | None, as_json: bool) -> int:
        """Every scheduled flow: its cron, zone, policies, last slot, next 3 fire times;
        ``pause FLOW`` stops --due running it (every host), ``resume FLOW`` undoes it."""
        if args and args[0] in ACTIONS:
            return _pause(factory, store, args)
        config, session = _collect(factory, store, list(args))
        flows = [f for f in session.flows if f.schedule is not None]
        storage = open_storage(config)
        try:
            rows = [_schedule_row(flow, storage) for flow in flows]
        finally:
            storage.close()
        if as_json:
            click.echo(json.dumps(rows, indent=2))
        elif not rows:
            click.echo("no scheduled flows (give a flow Flow(schedule=\"0 6 * * *\"))")
        for row in [] if as_json else rows:
            click.echo(f"{row['flow']}  {row['schedule']}  ({row['timezone']})  "
                       f"catchup={row['catchup']} overlap={row['overlap']}"
                       + ("  PAUSED" if row["paused"] else ""))
            click.echo(f"  last: {row['last'] or 'never'}"
                       + (f"  {row['last_status']}" if row["last_status"] else ""))
            click.echo(f"  next: {', '.join(row['next'])}")
        return 1 if session.errors else 0

    return schedule_command


def _pause(factory: Any, store: str | None, args: tuple[str, ...]) -> int:
    """``schedule pause|resume|unpause FLOW``: kept in the store, for every host."""
    action, targets = args[0], args[1:]
    if len(targets) != 1:
        raise UsageError(f"flowrun schedule {action} takes one flow file, e.g. "
                         f"flowrun schedule {action} flows/flow_sales.py")
    config = factory.make({"store": store})
    flow = _one_flow(config, targets[0], f"schedule {action}")
    if flow.schedule is None:
        raise UsageError(f"{flow.id} has no schedule (Flow(schedule=...)): nothing to "
                         f"{action}")
    storage = open_storage(config)
    try:
        if not isinstance(storage, PauseStore):
            raise UsageError(f"the store at {storage.url} cannot keep paused flows "
                             "(see flowrun.plugin.PauseStore)")
        storage.pause_flow(flow.id, ACTIONS[action], now())
    finally:
        storage.close()
    click.echo(f"{flow.id}: paused; --due skips it until `flowrun schedule resume "
               f"{flow.id}`" if ACTIONS[action] else f"{flow.id}: resumed; --due runs "
               "its next slot")
    return 0


def _schedule_row(flow: Any, storage: Any) -> dict[str, Any]:
    tz = schedule.zone(flow.timezone)
    cron = schedule.Schedule(flow.schedule, tz)
    slots = storage.last_slots(flow.id) if isinstance(storage, SlotStore) else {}
    last = slots.get(flow.id)
    at, paused = now(), paused_since(storage, flow.id)
    upcoming = cron.after(at, limit=3)
    return {"schema": tag("schedule"), "flow": flow.id, "schedule": flow.schedule, "timezone": flow.timezone or "UTC",
            "catchup": flow.catchup, "overlap": flow.overlap,
            "last": _when(last[0], tz) if last else None,
            "last_status": last[1] if last else None,
            "next": [t.strftime("%Y-%m-%d %H:%M %Z") for t in cron.next_times(at)],
            "paused": paused is not None, "paused_since": iso(paused) if paused else None,
            "next_times": [iso(t) for t in upcoming],
            "slots": slot_rows(storage, flow, cron, at, paused)}


def make_cron_command(factory: Any) -> click.Command:
    @click.command("cron")
    @click.option("--log", "log", metavar="PATH", default=CRON_LOG, show_default=True,
                  help="Append flowrun's output here (relative: under the rootdir).")
    @click.option("--no-log", is_flag=True, help="No redirection: cron mails the output.")
    def cron(log: str, no_log: bool) -> int:
        """Print the crontab line that runs due flows every minute."""
        click.echo(cron_line(factory.rootdir, log, no_log))
        return 0

    return cron


def cron_line(rootdir: str, log: str, no_log: bool = False) -> str:
    """``* * * * * cd ROOT && PYTHON -m flowrun --due >> LOG 2>&1`` with absolute
    paths (cron's PATH and working directory are not the user's) and ``%`` escaped
    (cron reads it as a newline)."""
    run = f"{shlex.quote(sys.executable)} -m flowrun --due"
    command = f"cd {shlex.quote(rootdir)} && {run}"
    if not no_log:  # a private log, in a folder that may not exist yet
        path = log if os.path.isabs(log) else os.path.join(rootdir, log)
        folder = shlex.quote(os.path.dirname(path))
        command = f"cd {shlex.quote(rootdir)} && umask 077 && mkdir -p {folder} && {run} " \
                  f">> {shlex.quote(path)} 2>&1"
    return "# flowrun: run due flows every minute (add with `crontab -e`)\n" \
           f"* * * * * {command.replace('%', chr(92) + '%')}"


def make_partitions_command(factory: Any) -> click.Command:
    @click.command("partitions")
    @click.argument("flow", metavar="FLOW")
    @click.option("--last", type=click.IntRange(min=1), default=30, show_default=True,
                  help="Time partitions shown (the newest).")
    @click.option("--store", metavar="URL", help="Where runs are kept.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
    def partitions(flow: str, last: int, store: str | None, as_json: bool) -> int:
        """A status grid of FLOW's partitions: the newest run of each."""
        config = factory.make({"store": store})
        found = _one_flow(config, flow)
        parts = partitions_of(found)
        if parts is None:
            raise UsageError(f"{found.id} has no partitions (Flow(partitions=...))")
        storage = open_storage(config)
        try:
            newest = partition_statuses(storage, found.id)
        finally:
            storage.close()
        times = parts.time_keys(None, parts.wall(now()))[-last:] or [None]
        if as_json:
            click.echo(json.dumps({"schema": tag("partitions"), **{
                key: {"status": run.status, "run": run.id} for key, run in newest.items()}},
                indent=2))
            return 0
        _grid(found.id, parts, times, newest)
        return 0

    return partitions


def _grid(flow_id: str, parts: Any, times: list[Any], newest: dict[str, Any]) -> None:
    """Rows: time keys (or categories alone); columns: categories (or one status)."""
    two_d = bool(parts.granularity and parts.categories)
    rows = [("", *(parts.categories if two_d else ["status"]))]
    labels = times if parts.granularity else list(parts.categories)
    counts: dict[str, int] = {}
    for label in labels:
        cells = []
        for key in (parts.keys_for(label) if two_d else [label]):
            run = newest.get(key)
            status = run.status if run else "missing"
            counts[status] = counts.get(status, 0) + 1
            cells.append(SHORT.get(status, status) if run else "-")
        rows.append((label, *cells))
    title = f"{parts.granularity} from {parts.example().split(schedule.SEP)[0]}" \
        if parts.granularity else "categories"
    click.echo(f"{flow_id}: {title}")
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    total = sum(counts.values())
    click.echo(f"{total} partition{'s' * (total != 1)}: " + ", ".join(
        f"{n} {s}" for s, n in sorted(counts.items())))
