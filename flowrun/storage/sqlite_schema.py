"""The SQLite store's schema, versioned with ``PRAGMA user_version``: ``MIGRATIONS[n]``
takes it from version n to n+1. Plain SQL on the store's own connection: a library here
would be imported on every fresh store's first run (sqlite-utils pulls in pandas and
numpy where they are installed: +0.35 s, +47 MiB)."""
from __future__ import annotations

import os
import sqlite3

SCHEMA_VERSION = 11


def connect(path: str) -> tuple[sqlite3.Connection, bool]:
    """A connection to the store at ``path`` in WAL mode, and whether its file was new.

    A new (empty) file has nothing to lose: it is switched to WAL, and should be given
    its schema, with ``synchronous=OFF``, which spares the fsyncs that guard existing
    data (four in the rollback journal of the switch, one for the new WAL's header);
    the first checkpoint syncs it all. The caller then sets ``synchronous=NORMAL``, the
    setting every store records runs and reports with."""
    fresh = path != ":memory:" and _empty(path)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    conn.execute(f"PRAGMA synchronous={'OFF' if fresh else 'NORMAL'}")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn, fresh


def _empty(path: str) -> bool:
    try:
        return os.path.getsize(path) == 0
    except OSError:  # gone already: SQLite says what is wrong when it opens it
        return False


def _run(conn: sqlite3.Connection, *statements: str) -> None:
    for statement in statements:
        conn.execute(statement)


def _migrate_to_1(conn: sqlite3.Connection) -> None:
    _run(conn,
         'CREATE TABLE "runs" ("id" TEXT PRIMARY KEY, "flow" TEXT NOT NULL, '
         '"status" TEXT NOT NULL, "started" FLOAT, "finished" FLOAT, "params" TEXT, '
         '"resumed_from" TEXT, "counts" TEXT)',
         'CREATE INDEX "idx_runs_flow_started" ON "runs" ("flow", "started")',
         'CREATE TABLE "attempts" ("run_id" TEXT REFERENCES "runs"("id"), "task_id" TEXT, '
         '"attempt" INTEGER, "status" TEXT, "queued" FLOAT, "started" FLOAT, '
         '"finished" FLOAT, "error" TEXT, "summary" TEXT, "reason" TEXT, "stdout" TEXT, '
         '"stderr" TEXT, "log" TEXT, "result" BLOB, "result_format" TEXT, '
         '"run_key" TEXT, "parent" TEXT, PRIMARY KEY ("run_id", "task_id", "attempt"))',
         # (stores made before schema 6 also had an index on (task_id, run_key): see 6)
         'CREATE TABLE "state" ("flow" TEXT, "key" TEXT, "value" BLOB, "format" TEXT, '
         'PRIMARY KEY ("flow", "key"))')


def _migrate_to_2(conn: sqlite3.Connection) -> None:
    """Partitions and cron slots on runs; out-of-band results and code hashes on
    attempts (for --resume and watch mode to see what changed)."""
    _run(conn, 'ALTER TABLE "runs" ADD COLUMN "partition" TEXT',
         'ALTER TABLE "runs" ADD COLUMN "scheduled_for" FLOAT',
         'ALTER TABLE "attempts" ADD COLUMN "result_ref" TEXT',
         'ALTER TABLE "attempts" ADD COLUMN "source_hash" TEXT')


def _migrate_to_3(conn: sqlite3.Connection) -> None:
    """Cron slots claimed by ``--due``: one row per (flow, slot), so concurrent
    invocations never run a slot twice (``INSERT OR IGNORE`` in ``BEGIN IMMEDIATE``)."""
    _run(conn, 'CREATE TABLE "slots" ("flow" TEXT, "slot" FLOAT, "status" TEXT, '
         '"claimed" FLOAT, "finished" FLOAT, "busy_seen" FLOAT, PRIMARY KEY ("flow", "slot"))')


def _migrate_to_4(conn: sqlite3.Connection) -> None:
    """The process running each run (pid, host), so a run whose process died reads as
    interrupted; an index for the newest-first run listings of ``flowrun ui``."""
    _run(conn, 'ALTER TABLE "runs" ADD COLUMN "pid" INTEGER',
         'ALTER TABLE "runs" ADD COLUMN "host" TEXT',
         'CREATE INDEX "idx_runs_started" ON "runs" ("started")')


def _migrate_to_5(conn: sqlite3.Connection) -> None:
    """A hash of the inputs of mapped instances, children and subflow tasks, so
    ``--resume`` reuses those whose arguments are unchanged; run keys looked up by key
    (an instance's key matches whatever its position)."""
    _run(conn, 'ALTER TABLE "attempts" ADD COLUMN "args_hash" TEXT',
         # partial: the many rows without a run key cost no index update
         'CREATE INDEX "attempts_by_run_key" ON "attempts" ("run_key") '
         'WHERE "run_key" IS NOT NULL')


def _migrate_to_6(conn: sqlite3.Connection) -> None:
    """Run keys are found through the partial index alone: the index on (task_id,
    run_key) cost every row an update (a fifth of a task's write) and no query needs it."""
    _run(conn, 'DROP INDEX IF EXISTS "idx_attempts_task_id_run_key"')


def _migrate_to_7(conn: sqlite3.Connection) -> None:
    """Why a run failed before any task started (a bad ``--param``, a flow that no
    longer collects), so such a run is listed and shown like any other."""
    _run(conn, 'ALTER TABLE "runs" ADD COLUMN "error" TEXT')


def _migrate_to_8(conn: sqlite3.Connection) -> None:
    """Fingerprints of cached tasks (API section 10), one per task and partition, with
    the result of the success they belong to."""
    _run(conn, 'CREATE TABLE "fingerprints" ("task_id" TEXT, "partition" TEXT, '
         '"fingerprint" TEXT, "run_id" TEXT, "flow_id" TEXT, "result" BLOB, '
         '"result_format" TEXT, "result_ref" TEXT, "recorded" FLOAT, '
         'PRIMARY KEY ("task_id", "partition"))')


def _migrate_to_9(conn: sqlite3.Connection) -> None:
    """Alerts: the notifications' outbox (one row per message, its key unique), the
    cron slots noticed missed (once per slot, on any host), the run's trace id."""
    _run(conn,
         'CREATE TABLE "notifications" ("id" INTEGER PRIMARY KEY, "key" TEXT UNIQUE, '
         '"channel" TEXT, "label" TEXT, "event" TEXT, "flow" TEXT, "run_id" TEXT, '
         '"payload" TEXT, "created" FLOAT, "status" TEXT, "tries" INTEGER DEFAULT 0, '
         '"failures" INTEGER DEFAULT 0, "next_try" FLOAT, "last_try" FLOAT, "error" TEXT)',
         'CREATE INDEX "notifications_due" ON "notifications" ("status", "next_try")',
         'CREATE INDEX "notifications_last" ON "notifications" '
         '("channel", "flow", "event", "created")',
         'CREATE TABLE "missed_slots" ("flow" TEXT, "slot" FLOAT, "noticed" FLOAT, '
         'PRIMARY KEY ("flow", "slot"))',
         'ALTER TABLE "runs" ADD COLUMN "trace_id" TEXT')


def _migrate_to_10(conn: sqlite3.Connection) -> None:
    """Flows whose schedule is paused (``flowrun schedule pause``): ``--due`` on every
    host skips them."""
    _run(conn, 'CREATE TABLE "paused" ("flow" TEXT PRIMARY KEY, "since" FLOAT)')


def _migrate_to_11(conn: sqlite3.Connection) -> None:
    """Each fingerprint's quick key (``flowrun.fingerprint.quick_key``): what a null
    run compares instead of reading the fingerprint."""
    _run(conn, 'ALTER TABLE "fingerprints" ADD COLUMN "quick" TEXT')


MIGRATIONS = (_migrate_to_1, _migrate_to_2, _migrate_to_3, _migrate_to_4, _migrate_to_5,
              _migrate_to_6, _migrate_to_7, _migrate_to_8, _migrate_to_9,
              _migrate_to_10, _migrate_to_11)
