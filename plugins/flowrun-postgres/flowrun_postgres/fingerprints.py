"""Fingerprints of cached tasks (the optional ``FingerprintStore`` interface): one row
per (task id, partition) with the result of the success it belongs to (``bytea``, large
ones too), so a cached task is settled from this one row on any host; a null run
reads only each row's quick key (the optional ``QuickFingerprintStore`` interface).

Writes are buffered and written by the store's next flush, in the same transaction as
the attempts they follow. A flow's first fingerprints are read one by one (a null run
asks only for the few whose quick key failed); after that the whole flow's rows (of
that partition) are read in one query: a first run of 10,000 cached tasks asks for all
of them, one by one. A flow's quick keys are read in one query, then kept up to date
by this process's records."""
from __future__ import annotations

from typing import Any

from flowrun.plugin import SUCCEEDED, Report
from flowrun.plugin.fingerprint_rows import (flow_of, flow_range, keep_handed_true, of_task,
                                             read_alone, read_back, with_buffered)
from flowrun_postgres.rows import Upsert

COLUMNS = ("task_id", "partition", "fingerprint", "run_id", "flow_id", "result",
           "result_format", "result_ref", "recorded", "quick")
_QUICK = ("quick", "result", "result_format", "result_ref", "recorded")
FINGERPRINTS = Upsert("flowrun_fingerprints", COLUMNS, (
    " ON CONFLICT (task_id, partition) DO UPDATE SET " + ", ".join(
        f"{c} = EXCLUDED.{c}" for c in COLUMNS[2:])))


class FingerprintMethods:
    """Mixed into ``PostgresStorage``: its ``execute`` and ``flush``; the buffer
    (``fingerprint_rows``) is written as ``FINGERPRINTS`` inside the flush's
    transaction."""

    execute: Any
    flush: Any

    def __init__(self) -> None:
        self._fingerprints: dict[tuple[str, str], tuple] = {}
        self._fingerprints_read: dict[tuple[str, str], dict[str, tuple]] = {}
        self._quick_read: dict[tuple[str, str], dict[str, tuple]] = {}  # handed out
        self._fingerprints_asked: dict[tuple[str, str], int] = {}  # rows read one by one

    def record_fingerprint(self, task_id: str, partition: str, fingerprint: str,
                           success: Report, quick: str | None = None) -> None:
        row = (task_id, partition, fingerprint, success.run_id, success.flow_id,
               success.result, success.result_format, success.result_ref,
               success.finished, quick)
        self._fingerprints[(task_id, partition)] = row
        keep_handed_true(self._quick_read, row)

    def quick_fingerprints(self, flow_id: str, partition: str) -> dict[str, tuple]:
        """The quick keys of one flow and partition, by task id, read once (only
        their columns: a null run never reads a fingerprint)."""
        rows = self._quick_read.get((flow_id, partition))
        if rows is None:
            found = self._in_flow(("task_id", *_QUICK), flow_id, partition,
                                  " AND quick IS NOT NULL")
            rows = with_buffered({row[0]: (row[1], _bytes(row[2]), *row[3:])
                                  for row in found}, self._fingerprints, flow_id, partition)
            self._quick_read[(flow_id, partition)] = rows
        return rows

    def get_fingerprint(self, task_id: str, partition: str) -> tuple[str, Report] | None:
        row = self._fingerprints.get((task_id, partition)) or \
            self._recorded_row(task_id, partition)
        if row is None:
            return None
        return row[2], Report(run_id=row[3], flow_id=row[4], task_id=row[0],
                              status=SUCCEEDED, result=row[5], result_format=row[6],
                              result_ref=row[7], finished=row[8])

    def _recorded_row(self, task_id: str, partition: str) -> tuple | None:
        """One recorded row: asked for alone while its flow's asks are few, the flow's
        rows read at once after that."""
        if not read_alone(self._fingerprints_asked, self._fingerprints_read, task_id,
                          partition):
            return self._flow_rows(flow_of(task_id), partition).get(task_id)
        found = self.execute(f"SELECT {', '.join(COLUMNS)} FROM flowrun_fingerprints "
                             "WHERE task_id=%s AND partition=%s", (task_id, partition))
        return _row(found[0]) if found else None

    def _flow_rows(self, flow_id: str, partition: str) -> dict[str, tuple]:
        """The recorded rows of one flow and partition, by task id, read once."""
        rows = self._fingerprints_read.get((flow_id, partition))
        if rows is None:
            rows = {row[0]: _row(row) for row in self._in_flow(COLUMNS, flow_id, partition)}
            self._fingerprints_read[(flow_id, partition)] = rows
        return rows

    def _in_flow(self, columns: tuple[str, ...], flow_id: str, partition: str,
                 where: str = "") -> list[tuple]:
        """``columns`` of the rows of one flow and partition (and ``where``)."""
        return self.execute(
            f"SELECT {', '.join(columns)} FROM flowrun_fingerprints WHERE partition=%s "
            f"AND task_id>=%s AND task_id<%s{where}", (partition, *flow_range(flow_id)))

    def forget_fingerprints(self, task_id: str) -> int:
        self.flush()
        self._fingerprints_read.clear()
        self._quick_read.clear()
        for key in [k for k in self._fingerprints if of_task(k[0], task_id)]:
            del self._fingerprints[key]
        return len(self.execute(
            "DELETE FROM flowrun_fingerprints WHERE task_id=%s OR (task_id>%s AND "
            "task_id<%s) RETURNING 1", (task_id, task_id + "[", task_id + "\\")))

    def fingerprint_rows(self) -> list[tuple]:
        """The buffered fingerprints, written by the flush's transaction (the buffer
        is emptied by ``fingerprints_written`` once it commits)."""
        return list(self._fingerprints.values())

    def fingerprints_written(self) -> None:
        read_back(self._fingerprints_read, self._fingerprints.values())
        self._fingerprints = {}


def _row(found: tuple) -> tuple:
    """A row as read, kept as the other stores keep theirs (its result as ``bytes``)."""
    return (*found[:5], _bytes(found[5]), *found[6:])


def _bytes(value: Any) -> bytes | None:
    return bytes(value) if value is not None else None
