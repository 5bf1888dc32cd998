"""The SQLite store's reads for live views (``flowrun ui``): what other processes
committed since the last look, and pages of runs older than a given run.

``PRAGMA data_version`` changes only when *another* connection commits, so an idle
store costs one tiny query per look.
"""
from __future__ import annotations

import sqlite3
from typing import Any, Callable

from flowrun.plugin import INTERRUPTED, RUNNING, StoreError

#: Attempt columns of a task event: no captured output, no result.
LIGHT_COLUMNS = ("run_id", "task_id", "attempt", "status", "queued", "started", "finished",
                 "error", "summary", "reason", "parent")
_LIGHT = ", ".join(LIGHT_COLUMNS)


def changes(conn: sqlite3.Connection, cursor: Any, make_run: Callable, make_report: Callable,
            recheck: bool = False) -> tuple[Any, list[Any], list[Any]]:
    """``(cursor, runs, reports)``: the runs that may have changed since ``cursor`` (new
    ones, and those that were running) and the attempts written since. ``cursor`` None
    gives the current position and nothing; ``recheck`` looks even if nothing was
    committed (a running run's process may have died).

    Attempts are written with ``INSERT OR REPLACE``, which gives a changed row a rowid
    above every other, or (the newest row replaced) its own again: so every attempt
    written since the last look has a rowid at or above the newest one seen then."""
    version = conn.execute("PRAGMA data_version").fetchone()[0]
    if cursor is not None and cursor[0] == version and not recheck:
        return cursor, [], []
    newest_run = conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM runs").fetchone()[0]
    newest_attempt = conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM attempts"
                                  ).fetchone()[0]
    if cursor is None:
        running = [r[0] for r in conn.execute("SELECT id FROM runs WHERE status=?",
                                              (RUNNING,))]
        return (version, newest_run, newest_attempt, tuple(running)), [], []
    _, last_run, last_attempt, watched = cursor
    from flowrun.storage.sqlite import RUN_COLUMNS

    columns = ", ".join(RUN_COLUMNS)
    rows = conn.execute(f"SELECT {columns} FROM runs WHERE rowid > ?", (last_run,)).fetchall()
    for chunk in _chunks(list(watched), 500):
        rows += conn.execute(f"SELECT {columns} FROM runs WHERE id IN "
                             f"({', '.join('?' * len(chunk))})", chunk).fetchall()
    runs = list({run.id: run for run in map(make_run, rows)}.values())
    reports = [make_report(r) for r in conn.execute(
        f"SELECT {_LIGHT} FROM attempts WHERE rowid >= ? ORDER BY rowid", (last_attempt,))]
    still = tuple(run.id for run in runs if run.status == RUNNING)
    return (version, newest_run, newest_attempt, still), runs, reports


def runs_page(conn: sqlite3.Connection, columns: tuple[str, ...], make_run: Callable,
              flow: str | None, status: str | None, limit: int,
              before: str | None) -> list[Any]:
    """Newest first; ``before`` a run id (raise ``StoreError`` if unknown). Running
    runs get their task counts from their attempts (the run row has them at the end)."""
    where, args = [], []
    if before:
        row = conn.execute("SELECT started, rowid FROM runs WHERE id=?", (before,)).fetchone()
        if row is None:
            raise StoreError(f"no run {before!r}")
        where.append("(started < ? OR (started = ? AND rowid < ?))")
        args += [row[0], row[0], row[1]]
    if flow:
        where.append("flow=?")
        args.append(flow)
    live = status in (RUNNING, INTERRUPTED)  # whether a process is gone decides
    if status:
        where.append("status IN (?, ?)" if live else "status=?")
        args += [RUNNING, INTERRUPTED] if live else [status]
    sql = f"SELECT {', '.join(columns)} FROM runs" + (
        " WHERE " + " AND ".join(where) if where else "")
    sql += " ORDER BY started DESC, rowid DESC" + ("" if live else f" LIMIT {int(limit)}")
    runs = [make_run(row) for row in conn.execute(sql, args)]
    if live:
        runs = [run for run in runs if run.status == status][:limit]
    for run in runs:
        if not run.counts:
            run.counts = live_counts(conn, run.id)
    return runs


def live_counts(conn: sqlite3.Connection, run_id: str) -> dict[str, int]:
    """Tasks per status of a run, by each task's newest attempt."""
    rows = conn.execute(
        "SELECT status, COUNT(*) FROM attempts a WHERE run_id=? AND attempt = "
        "(SELECT MAX(attempt) FROM attempts b WHERE b.run_id=a.run_id AND "
        "b.task_id=a.task_id) GROUP BY status", (run_id,))
    return dict(rows.fetchall())


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]
