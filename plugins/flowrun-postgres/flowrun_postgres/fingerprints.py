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

COLUMNS = ("task_id", "partition", "fingerprint", "run_id", "flow_id", "result",
           "result_format", "result_ref", "recorded", "quick")
_QUICK = ("quick", "result", "result_format", "result_ref", "recorded")
#: Rows a flow's fingerprints are read one by one before all of them at once.
_ONE_BY_ONE = 64
_UPSERT = (f"INSERT INTO flowrun_fingerprints ({', '.join(COLUMNS)}) VALUES "
           f"({', '.join(['%s'] * len(COLUMNS))}) ON CONFLICT (task_id, partition) "
           "DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS[2:]))


class FingerprintMethods:
    """Mixed into ``PostgresStorage``: its ``execute`` and ``flush``; the buffer is
    written by ``write_fingerprints`` inside the flush's transaction."""

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
        quick_read = self._quick_read.get((task_id.partition("::")[0], partition))
        if quick_read is not None:  # what this store hands out stays true
            quick_read.pop(task_id, None)
            if quick is not None:
                quick_read[task_id] = _quick_row(row)

    def quick_fingerprints(self, flow_id: str, partition: str) -> dict[str, tuple]:
        """The quick keys of one flow and partition, by task id, read once (only
        their columns: a null run never reads a fingerprint)."""
        rows = self._quick_read.get((flow_id, partition))
        if rows is None:
            found = self.execute(
                f"SELECT task_id, {', '.join(_QUICK)} FROM flowrun_fingerprints WHERE "
                "partition=%s AND task_id>=%s AND task_id<%s AND quick IS NOT NULL",
                (partition, flow_id + "::", flow_id + ":;"))
            rows = {row[0]: (row[1], _bytes(row[2]), *row[3:]) for row in found}
            for (task_id, part), row in self._fingerprints.items():  # not yet written
                if part == partition and task_id.startswith(flow_id + "::"):
                    rows.pop(task_id, None)
                    if row[9] is not None:
                        rows[task_id] = _quick_row(row)
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
        flow_id = task_id.partition("::")[0]
        asked = self._fingerprints_asked.get((flow_id, partition), 0)
        if asked >= _ONE_BY_ONE or (flow_id, partition) in self._fingerprints_read:
            return self._flow_rows(flow_id, partition).get(task_id)
        self._fingerprints_asked[(flow_id, partition)] = asked + 1
        found = self.execute(f"SELECT {', '.join(COLUMNS)} FROM flowrun_fingerprints "
                             "WHERE task_id=%s AND partition=%s", (task_id, partition))
        return (*found[0][:5], _bytes(found[0][5]), *found[0][6:]) if found else None

    def _flow_rows(self, flow_id: str, partition: str) -> dict[str, tuple]:
        """The recorded rows of one flow and partition, by task id, read once."""
        rows = self._fingerprints_read.get((flow_id, partition))
        if rows is None:
            found = self.execute(
                f"SELECT {', '.join(COLUMNS)} FROM flowrun_fingerprints WHERE "
                "partition=%s AND task_id>=%s AND task_id<%s",
                (partition, flow_id + "::", flow_id + ":;"))
            rows = {row[0]: (*row[:5], _bytes(row[5]), *row[6:]) for row in found}
            self._fingerprints_read[(flow_id, partition)] = rows
        return rows

    def forget_fingerprints(self, task_id: str) -> int:
        self.flush()
        self._fingerprints_read.clear()
        self._quick_read.clear()
        for key in [k for k in self._fingerprints if _of(k[0], task_id)]:
            del self._fingerprints[key]
        return len(self.execute(
            "DELETE FROM flowrun_fingerprints WHERE task_id=%s OR (task_id>%s AND "
            "task_id<%s) RETURNING 1", (task_id, task_id + "[", task_id + "\\")))

    def write_fingerprints(self, cur: Any) -> None:
        """Write the buffered fingerprints in the caller's transaction (the buffer is
        emptied by ``fingerprints_written`` once it commits)."""
        if self._fingerprints:
            cur.executemany(_UPSERT, list(self._fingerprints.values()))

    def fingerprints_written(self) -> None:
        for row in self._fingerprints.values():  # read back without a query
            read = self._fingerprints_read.get((row[0].partition("::")[0], row[1]))
            if read is not None:
                read[row[0]] = row
        self._fingerprints = {}


def _quick_row(row: tuple) -> tuple:
    """A buffered row's ``quick_fingerprints`` entry (the columns of ``_QUICK``)."""
    return row[9], row[5], row[6], row[7], row[8]


def _bytes(value: Any) -> bytes | None:
    return bytes(value) if value is not None else None


def _of(node_id: str, task_id: str) -> bool:
    return node_id == task_id or node_id.startswith(task_id + "[")
