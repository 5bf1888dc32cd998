"""The SQLite store's fingerprints of cached tasks (``FingerprintStore``): one row per
(task id, partition), with the result of the success it belongs to, so a cached task
is settled from this one row; a null run reads only each row's quick key
(``QuickFingerprintStore``). Writes are buffered and made durable with the store's
next flush, in the same transaction as the attempts they follow. A flow's first
fingerprints are read one by one (a null run asks for the few whose quick key failed);
after that the whole flow's rows (of that partition) are read in one query: a first
run of 10,000 cached tasks asks for all of them, one by one."""
from __future__ import annotations

import sqlite3
from typing import Any

from flowrun.plugin import Report
from flowrun.plugin.fingerprint_rows import (flow_of, flow_range, keep_handed_true, of_task,
                                             read_alone, read_back, with_buffered)

_COLUMNS = ("task_id", "partition", "fingerprint", "run_id", "flow_id", "result",
            "result_format", "result_ref", "recorded", "quick")
_QUICK = ("quick", "result", "result_format", "result_ref", "recorded")
_INSERT = (f"INSERT OR REPLACE INTO fingerprints ({', '.join(_COLUMNS)}) "
           f"VALUES ({', '.join('?' * len(_COLUMNS))})")


class FingerprintRows:
    """Mixed into ``SqliteStorage``: needs ``conn``, ``_fingerprints`` (the buffer),
    ``_write_result_file``, ``_load_result_file`` and ``file_threshold``."""

    conn: sqlite3.Connection
    _fingerprints: dict[tuple[str, str], tuple]
    _fingerprints_read: dict[tuple[str, str], dict[str, tuple]]  # (flow, partition)
    _quick_read: dict[tuple[str, str], dict[str, tuple]]  # (flow, partition)
    _fingerprints_asked: dict[tuple[str, str], int]  # rows read one by one
    file_threshold: int
    results_dir: str | None

    def record_fingerprint(self, task_id: str, partition: str, fingerprint: str,
                           success: Report, quick: str | None = None) -> None:
        result, ref = success.result, success.result_ref
        if result is not None and self.results_dir and len(result) > self.file_threshold:
            ref, result = self._write_result_file(result), None  # type: ignore[attr-defined]
        row = (task_id, partition, fingerprint, success.run_id, success.flow_id, result,
               success.result_format, ref, success.finished, quick)
        self._fingerprints[(task_id, partition)] = row
        keep_handed_true(self._quick_read, row)

    def quick_fingerprints(self, flow_id: str, partition: str) -> dict[str, tuple]:
        """The quick keys of one flow and partition, by task id, read once (only
        their columns: a null run of 10,000 tasks never reads a fingerprint)."""
        rows = self._quick_read.get((flow_id, partition))
        if rows is None:
            found = self._in_flow(("task_id", *_QUICK), flow_id, partition,
                                  " AND quick IS NOT NULL")
            rows = with_buffered({row[0]: row[1:] for row in found}, self._fingerprints,
                                 flow_id, partition)
            self._quick_read[(flow_id, partition)] = rows
        return rows

    def get_fingerprint(self, task_id: str, partition: str) -> tuple[str, Report] | None:
        row = self._fingerprints.get((task_id, partition)) or \
            self._recorded_row(task_id, partition)
        if row is None:
            return None
        report = Report(run_id=row[3], flow_id=row[4], task_id=row[0], status="succeeded",
                        result=row[5], result_format=row[6], result_ref=row[7],
                        finished=row[8])
        if row[7] is not None:  # a big result, kept in a file
            self._load_result_file(report)  # type: ignore[attr-defined]
        return row[2], report

    def _recorded_row(self, task_id: str, partition: str) -> tuple | None:
        """One recorded row: asked for alone while its flow's asks are few (a null run
        asks only where a quick key failed), the flow's rows read at once after that."""
        if not read_alone(self._fingerprints_asked, self._fingerprints_read, task_id,
                          partition):
            return self._flow_rows(flow_of(task_id), partition).get(task_id)
        return self.conn.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM fingerprints WHERE task_id=? AND "
            "partition=?", (task_id, partition)).fetchone()

    def _flow_rows(self, flow_id: str, partition: str) -> dict[str, tuple]:
        """The recorded rows of one flow and partition, by task id, read once."""
        rows = self._fingerprints_read.get((flow_id, partition))
        if rows is None:
            rows = {row[0]: row for row in self._in_flow(_COLUMNS, flow_id, partition)}
            self._fingerprints_read[(flow_id, partition)] = rows
        return rows

    def _in_flow(self, columns: tuple[str, ...], flow_id: str, partition: str,
                 where: str = "") -> sqlite3.Cursor:
        """``columns`` of the rows of one flow and partition (and ``where``)."""
        return self.conn.execute(
            f"SELECT {', '.join(columns)} FROM fingerprints WHERE partition=? AND "
            f"task_id>=? AND task_id<?{where}", (partition, *flow_range(flow_id)))

    def forget_fingerprints(self, task_id: str) -> int:
        self.flush_fingerprints()
        self._fingerprints_read.clear()
        self._quick_read.clear()
        dropped = [k for k in self._fingerprints if of_task(k[0], task_id)]
        for key in dropped:
            del self._fingerprints[key]
        with self._transaction():  # type: ignore[attr-defined]
            cursor = self.conn.execute(
                "DELETE FROM fingerprints WHERE task_id=? OR (task_id>? AND task_id<?)",
                (task_id, task_id + "[", task_id + "\\"))
        return cursor.rowcount

    def flush_fingerprints(self, conn: Any = None) -> None:
        """Write the buffered fingerprints (inside the caller's transaction if given)."""
        if not self._fingerprints:
            return
        rows, self._fingerprints = list(self._fingerprints.values()), {}
        read_back(self._fingerprints_read, rows)
        if conn is not None:
            conn.executemany(_INSERT, rows)
            return
        with self._transaction():  # type: ignore[attr-defined]
            self.conn.executemany(_INSERT, rows)
