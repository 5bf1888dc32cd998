"""The SQLite store's schema, versioned with ``PRAGMA user_version``: ``MIGRATIONS[n]``
takes it from version n to n+1 (run with sqlite-utils, imported only when one is due)."""
from __future__ import annotations

from typing import Any

SCHEMA_VERSION = 5


def _migrate_to_1(db: Any) -> None:
    db["runs"].create({
        "id": str, "flow": str, "status": str, "started": float, "finished": float,
        "params": str, "resumed_from": str, "counts": str,
    }, pk="id", not_null={"flow", "status"})
    db["runs"].create_index(["flow", "started"])
    db["attempts"].create({
        "run_id": str, "task_id": str, "attempt": int, "status": str, "queued": float,
        "started": float, "finished": float, "error": str, "summary": str, "reason": str,
        "stdout": str, "stderr": str, "log": str, "result": bytes, "result_format": str,
        "run_key": str, "parent": str,
    }, pk=("run_id", "task_id", "attempt"), foreign_keys=[("run_id", "runs", "id")])
    db["attempts"].create_index(["task_id", "run_key"])
    db["state"].create({"flow": str, "key": str, "value": bytes, "format": str},
                       pk=("flow", "key"))


def _migrate_to_2(db: Any) -> None:
    """Partitions and cron slots on runs; out-of-band results and code hashes on
    attempts (for --resume and watch mode to see what changed)."""
    db["runs"].add_column("partition", str)
    db["runs"].add_column("scheduled_for", float)
    db["attempts"].add_column("result_ref", str)
    db["attempts"].add_column("source_hash", str)


def _migrate_to_3(db: Any) -> None:
    """Cron slots claimed by ``--due``: one row per (flow, slot), so concurrent
    invocations never run a slot twice (``INSERT OR IGNORE`` in ``BEGIN IMMEDIATE``)."""
    db["slots"].create({"flow": str, "slot": float, "status": str, "claimed": float,
                        "finished": float, "busy_seen": float}, pk=("flow", "slot"))


def _migrate_to_4(db: Any) -> None:
    """The process running each run (pid, host), so a run whose process died reads as
    interrupted; an index for the newest-first run listings of ``flowrun ui``."""
    db["runs"].add_column("pid", int)
    db["runs"].add_column("host", str)
    db["runs"].create_index(["started"])


def _migrate_to_5(db: Any) -> None:
    """A hash of the inputs of mapped instances, children and subflow tasks, so
    ``--resume`` reuses those whose arguments are unchanged; run keys looked up by key
    (an instance's key matches whatever its position)."""
    db["attempts"].add_column("args_hash", str)
    # partial: the many rows without a run key cost no index update
    db.execute("CREATE INDEX attempts_by_run_key ON attempts(run_key) "
               "WHERE run_key IS NOT NULL")


MIGRATIONS = (_migrate_to_1, _migrate_to_2, _migrate_to_3, _migrate_to_4, _migrate_to_5)
