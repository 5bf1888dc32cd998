"""Reads for live views (``flowrun ui``, the ``LiveStore`` interface). Every write
transaction sends ``NOTIFY flowrun_changes``; a viewer LISTENs on a connection of its
own, so an idle store costs it no query at all, however big its tables."""
from __future__ import annotations

from typing import Any

from flowrun.plugin import INTERRUPTED, RUNNING, StoreError
from flowrun_postgres import connect

#: Attempt columns of a task event: no captured output, no result.
LIGHT_COLUMNS = ("run_id", "task_id", "attempt", "status", "queued", "started", "finished",
                 "error", "summary", "reason", "parent")


class LiveMethods:
    """Mixed into ``PostgresStorage``."""

    url: str
    execute: Any
    lease: Any

    def __init__(self) -> None:
        self._listen: Any = None

    def _notified(self) -> bool:
        """Whether a change was announced since the last look (never blocks)."""
        import psycopg

        try:
            return any(True for _ in self._listen.notifies(timeout=0))
        except psycopg.Error:  # the connection dropped: listen anew, and look
            self._listen.close()
            self._listen = None
            return True

    def changes(self, cursor: Any, recheck: bool = False
                ) -> tuple[Any, list[Any], list[Any]]:
        """``(cursor, runs, reports)`` since ``cursor`` (None: from now on)."""
        from flowrun_postgres.store import RUN_COLUMNS, report_from_light, run_from

        fresh = self._listen is None
        if fresh:
            self._listen = connect.connect(self.url)
            self._listen.execute("LISTEN flowrun_changes")
        if cursor is not None and not fresh and not self._notified() and not recheck:
            return cursor, [], []
        if recheck:
            self.lease.sweep()
        newest = self.execute("SELECT COALESCE(MAX(seq), 0) FROM flowrun_runs")[0][0]
        newest = max(newest, self.execute("SELECT COALESCE(MAX(seq), 0) FROM "
                                          "flowrun_attempts")[0][0])
        if cursor is None:
            running = [r[0] for r in self.execute(
                "SELECT id FROM flowrun_runs WHERE status=%s", (RUNNING,))]
            return (newest, tuple(running)), [], []
        last, watched = cursor
        columns = ", ".join(RUN_COLUMNS)
        rows = self.execute(f"SELECT {columns} FROM flowrun_runs WHERE seq > %s OR "
                            "id = ANY(%s)", (last, list(watched)))
        runs = [run_from(row) for row in rows]
        reports = [report_from_light(row) for row in self.execute(
            f"SELECT {', '.join(LIGHT_COLUMNS)} FROM flowrun_attempts WHERE seq > %s "
            "ORDER BY seq", (last,))]
        still = tuple(run.id for run in runs if run.status == RUNNING)
        return (newest, still), runs, reports

    def runs_page(self, flow: str | None = None, status: str | None = None,
                  limit: int = 50, before: str | None = None) -> list[Any]:
        """Runs newest first, older than run ``before``, running ones with live counts."""
        from flowrun_postgres.store import RUN_COLUMNS, run_from

        self.flush()
        where, args = [], []
        if before:
            row = self.execute("SELECT started, seq FROM flowrun_runs WHERE id=%s", (before,))
            if not row:
                raise StoreError(f"no run {before!r}")
            where.append("(started < %s OR (started = %s AND seq < %s))")
            args += [row[0][0], row[0][0], row[0][1]]
        if flow:
            where.append("flow=%s")
            args.append(flow)
        live = status in (RUNNING, INTERRUPTED)
        if status:
            where.append("status IN (%s, %s)" if live else "status=%s")
            args += [RUNNING, INTERRUPTED] if live else [status]
        sql = f"SELECT {', '.join(RUN_COLUMNS)} FROM flowrun_runs" + (
            " WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY started DESC, seq DESC" + ("" if live else f" LIMIT {int(limit)}")
        runs = [run_from(row) for row in self.execute(sql, args)]
        if live:
            runs = [run for run in runs if run.status == status][:limit]
        for run in runs:
            if not run.counts:
                run.counts = dict(self.execute(
                    "SELECT status, COUNT(*) FROM flowrun_attempts a WHERE run_id=%s AND "
                    "attempt = (SELECT MAX(attempt) FROM flowrun_attempts b WHERE "
                    "b.run_id=a.run_id AND b.task_id=a.task_id) GROUP BY status",
                    (run.id,)))
        return runs

    def close_live(self) -> None:
        if self._listen is not None:
            self._listen.close()
            self._listen = None
