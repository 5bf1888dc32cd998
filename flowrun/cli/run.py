"""The click commands behind ``flowrun``: options in, a session or a store query out."""
from __future__ import annotations

import json
import time
from typing import Any

import click

from flowrun.errors import ExitCode, UsageError

RUN_EPILOG = """\b
Other commands:
  flowrun history [FLOW]   past runs, newest first
  flowrun show RUN         one run: every task's status, attempts and times
  flowrun logs RUN [TASK]  captured output of a run or one task
  flowrun graph FLOW       the flow's graph: text, dot, mermaid, json, svg
  flowrun explain [SEL]    what the next run would run, reuse or skip, and why
  flowrun schedule         scheduled flows: expression, last slot, next fire times
  flowrun cron             the crontab line that runs `flowrun --due`
  flowrun partitions FLOW  status of each partition of a partitioned flow
"""


def make_run_command(factory: Any) -> click.Command:
    @click.command("run", epilog=RUN_EPILOG,
                   context_settings={"help_option_names": ["-h", "--help"]})
    @click.argument("args", nargs=-1, metavar="[PATH | NODEID]...")
    @click.option("-k", "keyword", metavar="EXPR",
                  help="Select tasks whose flow or task name matches (and/or/not).")
    @click.option("-m", "markexpr", metavar="EXPR", help="Select tasks by tag expression.")
    @click.option("-x", "--exitfirst", is_flag=True, default=None,
                  help="Stop starting tasks after the first failure.")
    @click.option("--executor", metavar="NAME", help="thread (default), or a plugin's.")
    @click.option("-n", "--workers", type=int, metavar="N", help="Tasks at once.")
    @click.option("--param", multiple=True, metavar="K=V", help="Set a flow parameter.")
    @click.option("--retries", type=click.IntRange(min=0), metavar="N",
                  help="Retries for every task (overrides decorators and Flow()).")
    @click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
                  help="Timeout for every task (overrides decorators and Flow()).")
    @click.option("--watch", is_flag=True, default=None,
                  help="Stay up; on every saved change rerun the affected flows.")
    @click.option("--collect-only", "collectonly", is_flag=True, default=None,
                  help="Show what would run, and run nothing.")
    @click.option("-v", "--verbose", count=True, help="More output (one line per task).")
    @click.option("-q", "--quiet", count=True, help="Less output.")
    @click.option("-p", "plugins", multiple=True, metavar="NAME",
                  help="Load plugin NAME, or block it with -p no:NAME.")
    @click.option("--store", metavar="URL", help="Where runs are kept.")
    @click.version_option(package_name="flowrun", prog_name="flowrun", message="%(prog)s %(version)s")
    def run(**options: Any) -> int:
        """Discover flow_*.py files, select tasks, run them, report like pytest."""
        config = factory.make(options)
        if options["watch"]:
            return watch_session(config, list(options["args"]), factory.argv)
        return run_session(config, list(options["args"]))

    return run


def run_session(config: Any, args: list[str]) -> int:
    """configure -> collect -> run -> report -> unconfigure."""
    from flowrun.session import Session

    hook = config.hook
    hook.flowrun_configure(config=config)
    session = Session(config)
    try:
        hook.flowrun_session_start(session=session)
        session.collect(args)
        if config.getoption("collectonly"):
            code = ExitCode.TASKS_FAILED if session.errors else (
                ExitCode.OK if session.flows else ExitCode.NO_FLOWS_COLLECTED)
        else:
            code = session.run()
        hook.flowrun_session_finish(session=session, exit_code=int(code))
        return int(code)
    finally:
        session.close()
        hook.flowrun_unconfigure(config=config)


def watch_session(config: Any, args: list[str], argv: list[str]) -> int:
    """``--watch``: checks the options once here, then every cycle is a fresh run."""
    from flowrun.watch.observer import watch

    clash = [flag for option, flag in (("due", "--due"), ("resume", "--resume"),
                                       ("backfill", "--backfill"),
                                       ("collectonly", "--collect-only"))
             if config.getoption(option)]
    if clash:
        raise UsageError(f"--watch cannot be combined with {' or '.join(clash)}")
    return watch(config, args, [a for a in argv if a != "--watch"])


def _store_option(fn: Any) -> Any:
    return click.option("--store", metavar="URL", help="Where runs are kept.")(fn)


def _json_option(fn: Any) -> Any:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(fn)


def _open(factory: Any, store: str | None) -> Any:
    from flowrun.session import open_storage

    return open_storage(factory.make({"store": store}))


def make_history_command(factory: Any) -> click.Command:
    @click.command("history")
    @click.argument("flow", required=False)
    @click.option("--status", type=click.Choice(["running", "succeeded", "failed",
                                                 "interrupted"]))
    @click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
    @_store_option
    @_json_option
    def history(flow: str | None, status: str | None, limit: int, store: str | None,
                as_json: bool) -> int:
        """Past runs, newest first."""
        storage = _open(factory, store)
        runs = storage.list_runs(flow=flow, status=status, limit=limit)
        if as_json:
            click.echo(json.dumps([vars(r) for r in runs], indent=2))
            return 0
        if not runs:
            click.echo("no runs yet" + (f" of {flow}" if flow else ""))
            return 0
        rows = [("RUN", "FLOW", "STATUS", "STARTED", "DURATION", "TASKS")]
        for r in runs:
            duration = f"{r.finished - r.started:.2f}s" if r.finished else "-"
            tasks = ", ".join(f"{n} {s}" for s, n in sorted(r.counts.items()))
            rows.append((r.id, r.flow_id, r.status, _time(r.started), duration, tasks))
        _table(rows)
        return 0

    return history


def make_show_command(factory: Any) -> click.Command:
    @click.command("show")
    @click.argument("run_id", metavar="RUN")
    @_store_option
    @_json_option
    def show(run_id: str, store: str | None, as_json: bool) -> int:
        """One run: every task's status, attempts, times and share of the run's time."""
        storage = _open(factory, store)
        run = storage.get_run(run_id)
        attempts = storage.attempts(run.id)
        final = {a.task_id: a for a in attempts}  # the last attempt of each task
        if as_json:
            click.echo(json.dumps({"run": vars(run), "tasks": [
                {k: v for k, v in vars(a).items() if k not in ("result", "will_retry")}
                for a in attempts]}, indent=2))
            return 0
        total = (run.finished or time.time()) - run.started
        click.echo(f"run {run.id}  {run.flow_id}  {run.status}  started {_time(run.started)}"
                   f"  took {total:.2f}s" + (f"  resumed from {run.resumed_from}"
                                              if run.resumed_from else ""))
        critical = critical_path(list(final.values()))
        rows = [("", "TASK", "STATUS", "ATTEMPTS", "QUEUED", "START", "END", "DURATION",
                 "SHARE")]
        for a in final.values():
            share = f"{100 * a.duration / total:.0f}%" if total > 0 and a.started else "-"
            rows.append(("*" if a.task_id in critical else "", a.task_id.partition("::")[2],
                         a.status, str(a.attempt), _clock(a.queued), _clock(a.started),
                         _clock(a.finished), f"{a.duration:.3f}s" if a.started else "-", share))
        _table(rows)
        if critical:
            click.echo("* critical path: the chain of tasks that set the run's length")
        return 0

    return show


def make_logs_command(factory: Any) -> click.Command:
    @click.command("logs")
    @click.argument("run_id", metavar="RUN")
    @click.argument("task", required=False)
    @_store_option
    def logs(run_id: str, task: str | None, store: str | None) -> int:
        """Captured output of a run, or of one task (by name or id)."""
        storage = _open(factory, store)
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


def _table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


def _time(stamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp)) if stamp else "-"


def _clock(stamp: float | None) -> str:
    if not stamp:
        return "-"
    return time.strftime("%H:%M:%S", time.localtime(stamp)) + f".{int(stamp % 1 * 1000):03d}"
