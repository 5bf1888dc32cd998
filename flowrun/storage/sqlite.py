"""[plugin] The default store: one SQLite file (WAL) under ``.flowrun/``; also
``memory:``, the same store on an in-memory database.

Task reports are buffered and written in batches (one transaction per flush), which is
what keeps per-task cost in microseconds; runs are written at once. The schema is
versioned with ``PRAGMA user_version`` and created or migrated in plain SQL
(``sqlite_schema``), so a fresh store's first run costs what later runs cost.
"""
from __future__ import annotations

import json
import operator
import os
import sqlite3
import time
from typing import Any

from flowrun.plugin import (
    INTERRUPTED,
    RESULT_FILES,
    SUCCEEDED,
    Report,
    Run,
    StoreError,
    blake2b,
    hookimpl,
    redact_url,
    write_result_file,
)
from flowrun.plugin.private import create_private_file, make_private_dir
from flowrun.storage import sqlite_live, sqlite_locks, sqlite_pause, sqlite_schema
from flowrun.storage.sqlite_fingerprints import FingerprintRows
from flowrun.storage.sqlite_insert import insert_rows
from flowrun.storage.sqlite_telemetry import TelemetryMixin
from flowrun.storage.sqlite_schema import MIGRATIONS, SCHEMA_VERSION

ATTEMPT_COLUMNS = (
    "run_id", "task_id", "attempt", "status", "queued", "started", "finished", "error",
    "summary", "reason", "stdout", "stderr", "log", "result", "result_format", "run_key",
    "parent", "result_ref", "source_hash", "args_hash")
RUN_COLUMNS = ("id", "flow", "status", "started", "finished", "params", "resumed_from",
               "counts", "partition", "scheduled_for", "pid", "host", "error")
_RESULT, _REF = ATTEMPT_COLUMNS.index("result"), ATTEMPT_COLUMNS.index("result_ref")
_row = operator.attrgetter(*ATTEMPT_COLUMNS)  # a Report's row

#: Results larger than this many bytes live in files under ``.flowrun/results/``.
DEFAULT_FILE_THRESHOLD = 64 * 1024
#: Buffered records written at once even before the engine's next timed flush.
FLUSH_BATCH = 2000


class SqliteStorage(FingerprintRows, TelemetryMixin, sqlite_pause.Pausing):
    def __init__(self, path: str, url: str | None = None,
                 file_threshold: int = DEFAULT_FILE_THRESHOLD) -> None:
        self.path = path
        self.url = url or f"sqlite:///{path}"
        self.file_threshold = file_threshold
        self.results_dir = os.path.join(os.path.dirname(os.path.abspath(path)), "results") \
            if path != ":memory:" else None
        try:
            if path != ":memory:":
                make_private_dir(os.path.dirname(path))
                create_private_file(path)
        except OSError as exc:
            raise StoreError(f"cannot open the store {path}: {exc.strerror or exc}") from None
        try:
            self.conn, fresh = sqlite_schema.connect(path)
            self._migrate()
            if fresh:  # given its schema without fsyncs; what is recorded is synced as usual
                self.conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the store {path}: {exc}") from None
        self._pending: dict[tuple[str, str, int], tuple] = {}
        self._state: list[tuple[str, str, Any]] = []
        self._fingerprints: dict[tuple[str, str], tuple] = {}
        self._fingerprints_read, self._quick_read = {}, {}  # (flow, partition) -> rows
        self._fingerprints_asked: dict[tuple[str, str], int] = {}
        self._locks: dict[str, int | None] = {}  # flow id -> flock'ed fd (None: memory)

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise StoreError(f"the store {self.path} was written by a newer flowrun "
                             f"(schema {version}, this one knows {SCHEMA_VERSION})")
        with self._transaction():
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            for step in MIGRATIONS[version:]:
                step(self.conn)
            self.conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def _transaction(self) -> Any:
        return _Immediate(self.conn, self.path)

    # -- writes ------------------------------------------------------------------------

    def run_started(self, run: Run) -> None:
        with self._transaction():
            self.conn.execute(
                "INSERT INTO runs (id, flow, status, started, params, resumed_from, "
                "partition, scheduled_for, pid, host, error) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run.id, run.flow_id, run.status, run.started,
                 json.dumps(run.params, default=repr), run.resumed_from, run.partition,
                 run.scheduled_for, run.pid, run.host, run.error))

    def run_finished(self, run: Run) -> None:
        self.flush()
        with self._transaction():
            self.conn.execute(
                "UPDATE runs SET status=?, finished=?, counts=?, error=? WHERE id=?",
                (run.status, run.finished, json.dumps(run.counts), run.error, run.id))

    def record(self, r: Report) -> None:
        result = r.result
        row = _row(r)  # the columns in order, read in C
        if result is not None and self.results_dir and len(result) > self.file_threshold:
            r.result_ref = self._write_result_file(result)  # before the row that names it
            row = (*row[:_RESULT], None, *row[_RESULT + 1:_REF], r.result_ref, *row[_REF + 1:])
        self._pending[(r.run_id, r.task_id, r.attempt)] = row
        if len(self._pending) >= FLUSH_BATCH:
            self.flush()

    def _write_result_file(self, blob: bytes) -> str:
        try:
            return write_result_file(self.results_dir, blob)
        except OSError as exc:
            raise StoreError(f"cannot write a result file under {self.results_dir}: "
                             f"{exc.strerror or exc}; fix that, then `flowrun --resume` "
                             "continues the run") from None

    def _load_result_file(self, report: Report) -> None:
        if report.result_ref and report.result is None and self.results_dir:
            with open(os.path.join(self.results_dir, report.result_ref), "rb") as handle:
                report.result = handle.read()

    def record_state(self, flow_id: str, changes: dict[str, Any]) -> None:
        self._state.extend((flow_id, key, value) for key, value in changes.items())

    def flush(self) -> None:
        if not self._pending and not self._state and not self._fingerprints:
            return
        rows, self._pending = list(self._pending.values()), {}
        state, self._state = self._state, []
        with self._transaction():
            insert_rows(self.conn, "attempts", ATTEMPT_COLUMNS, rows)
            self.flush_fingerprints(self.conn)  # after the attempts they belong to
            for flow, key, value in state:
                if value is None:
                    self.conn.execute("DELETE FROM state WHERE flow=? AND key=?", (flow, key))
                else:
                    self.conn.execute("INSERT OR REPLACE INTO state VALUES (?, ?, ?, ?)",
                                      (flow, key, value[0], value[1]))

    def close(self) -> None:
        try:
            self.flush()
        except StoreError:
            pass  # a write that cannot be made was reported when it failed
        finally:
            for flow_id in list(self._locks):
                self.unlock_flow(flow_id)
            self.conn.close()

    # -- cron slots (--due) --------------------------------------------------------------

    def lock_flow(self, flow_id: str) -> bool:
        """Take the flow's lock without waiting (False: another process holds it).

        A ``flock`` on a file beside the database, opened ``O_CLOEXEC`` so worker
        processes never inherit it: the kernel drops it when this process dies, so a
        killed ``--due`` cannot leave a flow locked."""
        if flow_id in self._locks:
            return True
        if self.results_dir is None:  # memory: one process, nothing to share
            self._locks[flow_id] = None
            return True
        import fcntl

        folder = os.path.join(os.path.dirname(self.results_dir), "locks")
        make_private_dir(folder)
        name = blake2b(flow_id.encode(), digest_size=12).hexdigest() + ".lock"
        fd = os.open(os.path.join(folder, name), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                     0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._locks[flow_id] = fd
        return True

    def lock_state(self, flow_id: str, wait: bool = True) -> tuple[Any, dict] | None:
        """The flow's ``context.state`` lock (``StateLockStore``; see sqlite_locks)."""
        return sqlite_locks.lock_state(self, flow_id, wait)

    def unlock_state(self, handle: Any) -> None:
        sqlite_locks.unlock_state(handle)

    def unlock_flow(self, flow_id: str) -> None:
        fd = self._locks.pop(flow_id, None)
        if fd is not None:
            os.close(fd)  # closing the only descriptor releases the flock

    def last_slots(self, flow_id: str | None = None) -> dict[str, tuple[float, str, Any]]:
        """flow id -> (newest slot, its status, busy_seen) for every flow with slots."""
        sql = ("SELECT flow, slot, status, busy_seen FROM slots s WHERE slot = "
               "(SELECT MAX(slot) FROM slots WHERE flow = s.flow)")
        rows = self.conn.execute(sql + " AND flow=?", (flow_id,)) if flow_id else \
            self.conn.execute(sql)
        return {flow: (slot, status, busy) for flow, slot, status, busy in rows}

    def slot_history(self, flow_id: str) -> list[tuple[float, str]]:
        rows = self.conn.execute("SELECT slot, status FROM slots WHERE flow=? ORDER BY slot",
                                 (flow_id,))
        return [(slot, status) for slot, status in rows]

    def claim_slots(self, flow_id: str, slots: list[float], skipped: list[float],
                    now: float) -> list[float]:
        """Record ``slots`` as running and ``skipped`` as skipped, in one ``BEGIN
        IMMEDIATE``; return the slots of ``slots`` this call inserted (a slot already
        recorded is never claimed twice). Call while holding ``lock_flow``: slots still
        marked running by a process that died become abandoned."""
        claimed = []
        with self._transaction():
            self.conn.execute("UPDATE slots SET status='abandoned' WHERE flow=? AND "
                              "status='running'", (flow_id,))
            for slot, status in [*((s, "running") for s in slots),
                                 *((s, "skipped") for s in skipped)]:
                cursor = self.conn.execute(
                    "INSERT OR IGNORE INTO slots (flow, slot, status, claimed) "
                    "VALUES (?, ?, ?, ?)", (flow_id, slot, status, now))
                if cursor.rowcount == 1 and status == "running":
                    claimed.append(slot)
        return claimed

    def finish_slot(self, flow_id: str, slot: float, status: str, now: float) -> None:
        """Mark a claimed slot ``status`` (its run's final status)."""
        with self._transaction():
            self.conn.execute("UPDATE slots SET status=?, finished=? WHERE flow=? AND "
                              "slot=?", (status, now, flow_id, slot))

    def note_busy(self, flow_id: str, slot: float) -> None:
        """Another process holds the flow's lock while ``slot`` is due: note it on the
        running slot, so ``overlap="skip"`` can skip it later."""
        with self._transaction():
            self.conn.execute("UPDATE slots SET busy_seen=MAX(COALESCE(busy_seen, 0), ?) "
                              "WHERE flow=? AND status='running'", (slot, flow_id))

    # -- reads -------------------------------------------------------------------------

    def get_state(self, flow_id: str) -> dict[str, tuple[bytes | None, str | None]]:
        rows = self.conn.execute("SELECT key, value, format FROM state WHERE flow=?",
                                 (flow_id,))
        return {key: (value, fmt) for key, value, fmt in rows}

    def find_cached(self, task_id: str, run_key: str, instances: bool = False
                    ) -> Report | None:
        self.flush()
        where = "(task_id=? OR (task_id>? AND task_id<?))" if instances else "task_id=?"
        ids = (task_id, task_id + "[", task_id + "\\") if instances else (task_id,)
        row = self.conn.execute(  # the index on run_key finds the few rows with that key
            f"SELECT {', '.join(ATTEMPT_COLUMNS)} FROM attempts WHERE run_key=? AND "
            f"{where} AND status=? ORDER BY finished DESC LIMIT 1",
            (run_key, *ids, SUCCEEDED)).fetchone()
        if not row:
            return None
        report = _report(row)
        self._load_result_file(report)
        return report

    def get_run(self, run_id: str) -> Run:
        self.flush()
        rows = self.conn.execute(
            f"SELECT {', '.join(RUN_COLUMNS)} FROM runs WHERE id LIKE ? "
            "ORDER BY started DESC LIMIT 2",
            (run_id.replace("%", "").replace("_", "") + "%",)).fetchall()
        if not rows:
            raise StoreError(f"no run {run_id!r} in the store {redact_url(self.url)}")
        if len(rows) > 1 and rows[0][0] != run_id:
            raise StoreError(f"run id {run_id!r} is ambiguous: it starts "
                             f"{rows[0][0]} and {rows[1][0]}; give more characters")
        return _run(rows[0])

    def list_runs(self, flow: str | None = None, status: str | None = None,
                  limit: int | None = None) -> list[Run]:
        self.flush()
        where, args = [], []
        if flow:
            where.append("flow=?")
            args.append(flow)
        if status:
            where.append("status=?")
            args.append(status)
        sql = f"SELECT {', '.join(RUN_COLUMNS)} FROM runs" + (
            " WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY started DESC, rowid DESC" + (f" LIMIT {int(limit)}" if limit else "")
        return [_run(row) for row in self.conn.execute(sql, args)]

    def attempts(self, run_id: str, with_results: bool = False) -> list[Report]:
        self.flush()
        columns = ", ".join(c if with_results or c != "result" else "NULL"
                            for c in ATTEMPT_COLUMNS)
        rows = self.conn.execute(f"SELECT {columns} FROM attempts WHERE run_id=? "
                                 "ORDER BY rowid", (run_id,))
        reports = [_report(row) for row in rows]
        if with_results:
            for report in reports:
                self._load_result_file(report)
        return reports


    # -- the UI's reads (the optional LiveStore interface) -----------------------------

    def changes(self, cursor: Any, recheck: bool = False
                ) -> tuple[Any, list[Run], list[Report]]:
        """What other connections committed since ``cursor`` (None: from now on)."""
        return sqlite_live.changes(self.conn, cursor, _run, _report_light, recheck)

    def search_logs(self, text: str, flow: str | None = None, limit: int = 100) -> list:
        """Stored lines holding every word of ``text``, newest runs first (FTS5)."""
        from flowrun.storage import sqlite_search

        self.flush()
        return sqlite_search.search_logs(self.conn, self._transaction, text, flow, limit)

    def runs_page(self, flow: str | None = None, status: str | None = None,
                  limit: int = 50, before: str | None = None) -> list[Run]:
        """Runs newest first, older than run ``before``, with live task counts."""
        self.flush()
        return sqlite_live.runs_page(self.conn, RUN_COLUMNS, _run, flow, status, limit,
                                     before)


class _Immediate:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``: takes the write lock up front, so two
    processes never deadlock upgrading a read to a write."""

    def __init__(self, conn: sqlite3.Connection, path: str = "") -> None:
        self.conn, self.path = conn, path

    def __enter__(self) -> None:
        for delay in (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, None):
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or delay is None:
                    raise StoreError(f"the store is busy: {exc}") from None
                time.sleep(delay)  # busy_timeout already waited; back off and retry

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        try:
            self.conn.execute("COMMIT" if kind is None else "ROLLBACK")
        except sqlite3.Error as error:  # disk full, read-only, removed: nothing is half-kept
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise StoreError(f"cannot write the store {self.path}: {error}; fix that, then "
                             "`flowrun --resume` continues the run") from None
        if isinstance(exc, sqlite3.Error):
            raise StoreError(f"cannot write the store {self.path}: {exc}; fix that, then "
                             "`flowrun --resume` continues the run") from None


def _report(row: tuple) -> Report:
    return Report(**dict(zip(ATTEMPT_COLUMNS, row)), flow_id=row[1].partition("::")[0])


def _report_light(row: tuple) -> Report:
    values = dict(zip(sqlite_live.LIGHT_COLUMNS, row))
    return Report(**values, flow_id=values["task_id"].partition("::")[0])


def _run(row: tuple) -> Run:
    """A run as stored; one left ``running`` by a process that is gone reads as
    ``interrupted`` (API section 3), without writing anything."""
    rid, flow, status, started, finished, params, resumed_from, counts, partition, \
        scheduled_for, pid, host, error = row
    run = Run(id=rid, flow_id=flow, status=status, started=started, finished=finished,
              params=json.loads(params or "{}"), resumed_from=resumed_from,
              counts=json.loads(counts or "{}"), partition=partition,
              scheduled_for=scheduled_for, pid=pid, host=host, error=error)
    if run.process_gone():
        run.status = INTERRUPTED
    return run


@hookimpl
def flowrun_make_storage(url: str, config: Any) -> SqliteStorage | None:
    threshold = int(config.ini.get("result_file_threshold", DEFAULT_FILE_THRESHOLD)) \
        if config is not None else DEFAULT_FILE_THRESHOLD
    if url.startswith("memory:"):
        return SqliteStorage(":memory:", url=url)
    if url.startswith("sqlite:///"):
        store = SqliteStorage(url[len("sqlite:///"):], url=url, file_threshold=threshold)
        if config is not None and store.results_dir:
            config.stash[RESULT_FILES] = (store.results_dir, threshold)
        return store
    return None
