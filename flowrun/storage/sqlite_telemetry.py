"""The SQLite store's alerting half: the notifications' outbox and missed slots
(``OutboxStore``), the aggregates of ``flowrun metrics`` (``MetricsStore``) and the
runs' trace ids. A mixin of ``SqliteStorage``: it uses the store's connection and its
``BEGIN IMMEDIATE`` transactions."""
from __future__ import annotations

import re
from typing import Any

MESSAGE_COLUMNS = ("id", "key", "channel", "label", "event", "flow", "run_id", "payload",
                   "created", "status", "tries", "failures", "next_try", "last_try", "error")
_SELECT = f"SELECT {', '.join(MESSAGE_COLUMNS)} FROM notifications"
#: ``enrich[3]`` and ``enrich[4]`` are one task in the metrics: no label per instance.
_INSTANCE = re.compile(r"\[\d+\]")


class TelemetryMixin:
    conn: Any

    def _transaction(self) -> Any:  # the store's own BEGIN IMMEDIATE
        raise NotImplementedError

    # -- the outbox ----------------------------------------------------------------------

    def outbox_add(self, message: dict[str, Any]) -> bool:
        row = {"status": "pending", "tries": 0, "failures": 0, "last_try": None,
               "error": None, **message}
        columns = [c for c in MESSAGE_COLUMNS if c != "id"]
        with self._transaction():
            cursor = self.conn.execute(
                f"INSERT OR IGNORE INTO notifications ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' * len(columns))})", [row[c] for c in columns])
        return cursor.rowcount == 1

    def outbox_due(self, now: float, limit: int = 100) -> list[dict[str, Any]]:
        rows = self.conn.execute(f"{_SELECT} WHERE status='pending' AND next_try<=? "
                                 "ORDER BY next_try, id LIMIT ?", (now, limit))
        return [dict(zip(MESSAGE_COLUMNS, row)) for row in rows]

    def outbox_claim(self, message_id: int, now: float, lease: float) -> bool:
        with self._transaction():
            cursor = self.conn.execute(
                "UPDATE notifications SET next_try=? WHERE id=? AND status='pending' "
                "AND next_try<=?", (now + lease, message_id, now))
        return cursor.rowcount == 1

    def outbox_update(self, message_id: int, status: str, next_try: float | None,
                      error: str | None, now: float) -> None:
        failed = int(status != "sent")
        with self._transaction():
            self.conn.execute(
                "UPDATE notifications SET status=?, next_try=?, error=?, last_try=?, "
                "tries=tries+1, failures=failures+? WHERE id=?",
                (status, next_try, error, now, failed, message_id))

    def outbox_last(self, channel: str, flow: str, event: str) -> float | None:
        row = self.conn.execute(
            "SELECT MAX(created) FROM notifications WHERE channel=? AND flow=? AND "
            "event=? AND status!='suppressed'", (channel, flow, event)).fetchone()
        return row[0]

    def outbox_log(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = self.conn.execute(f"{_SELECT} ORDER BY id DESC LIMIT ?", (limit,))
        return [dict(zip(MESSAGE_COLUMNS, row)) for row in rows]

    def note_missed(self, flow_id: str, slot: float, now: float) -> bool:
        with self._transaction():
            cursor = self.conn.execute("INSERT OR IGNORE INTO missed_slots VALUES (?, ?, ?)",
                                       (flow_id, slot, now))
        return cursor.rowcount == 1

    # -- traces ----------------------------------------------------------------------------

    def record_trace(self, run_id: str, trace_id: str) -> None:
        """Keep the run's trace id (hex), for ``flowrun show``."""
        with self._transaction():
            self.conn.execute("UPDATE runs SET trace_id=? WHERE id=?", (trace_id, run_id))

    def trace_id(self, run_id: str) -> str | None:
        row = self.conn.execute("SELECT trace_id FROM runs WHERE id=?", (run_id,)).fetchone()
        return row[0] if row else None

    # -- metrics ---------------------------------------------------------------------------

    def metrics(self, buckets: tuple[float, ...]) -> dict[str, Any]:
        """A handful of aggregate queries: one scan of the runs, one of the attempts
        (each row's bucket found by a few comparisons, then grouped)."""
        from flowrun.plugin.metrics import bucket_histograms, count_running

        case = _bucket_case(buckets)
        runs = {(flow, status): n for flow, status, n in self.conn.execute(
            "SELECT flow, status, COUNT(*) FROM runs GROUP BY flow, status")}
        running = self.conn.execute(
            "SELECT pid, host FROM runs WHERE status='running'").fetchall()
        run_rows = self.conn.execute(
            f"SELECT flow, {case} AS b, COUNT(*), SUM(finished - started) FROM runs "
            "WHERE finished IS NOT NULL GROUP BY flow, b")
        task_rows = self.conn.execute(
            f"SELECT task_id, {case} AS b, COUNT(*), SUM(finished - started) FROM attempts "
            "WHERE finished IS NOT NULL AND started IS NOT NULL GROUP BY task_id, b")
        return {
            "runs": runs, "running": count_running(running),
            "run_durations": bucket_histograms(run_rows, len(buckets), lambda flow: flow),
            "task_durations": bucket_histograms(task_rows, len(buckets), _flow_and_task),
            "last_success": dict(self.conn.execute(
                "SELECT flow, MAX(finished) FROM runs WHERE status='succeeded' "
                "GROUP BY flow")),
            "missed": dict(self.conn.execute(
                "SELECT flow, COUNT(*) FROM missed_slots GROUP BY flow")),
            "notifications_failed": self.conn.execute(
                "SELECT COALESCE(SUM(failures), 0) FROM notifications").fetchone()[0],
        }


def _bucket_case(buckets: tuple[float, ...], lo: int = 0, hi: int | None = None,
                 d: str = "(finished - started)") -> str:
    """The row's bucket index (``len(buckets)``: above them all) as a binary search of
    nested CASEs: four comparisons a row instead of up to thirteen."""
    hi = len(buckets) if hi is None else hi
    if lo == hi:
        return str(lo)
    mid = (lo + hi) // 2
    return (f"CASE WHEN {d} <= {float(buckets[mid])!r} THEN "
            f"{_bucket_case(buckets, lo, mid, d)} ELSE "
            f"{_bucket_case(buckets, mid + 1, hi, d)} END")


def _flow_and_task(task_id: str) -> tuple[str, str]:
    flow, _, task = task_id.partition("::")
    return flow, _INSTANCE.sub("", task)
