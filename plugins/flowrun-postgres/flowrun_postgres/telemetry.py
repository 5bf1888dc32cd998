"""Alerts on the shared store: the notifications' outbox and missed slots
(``OutboxStore``), runs' trace ids (``TraceStore``) and the aggregates of ``flowrun
metrics`` (``MetricsStore``).

Every host may deliver: a message is taken for one try by a single ``UPDATE ...
RETURNING`` whose condition (still pending, still due) the second of two concurrent
takers re-checks after the first commits, so it finds the row moved on and takes
nothing. A message and a missed slot are added once by their unique key (``ON
CONFLICT DO NOTHING``), whichever host comes first."""
from __future__ import annotations

from typing import Any

from flowrun.plugin import RUNNING, bucket_histograms, count_running

MESSAGE_COLUMNS = ("id", "key", "channel", "label", "event", "flow", "run_id", "payload",
                   "created", "status", "tries", "failures", "next_try", "last_try", "error")
_SELECT = f"SELECT {', '.join(MESSAGE_COLUMNS)} FROM flowrun_notifications"
_ADDED = MESSAGE_COLUMNS[1:]
#: A row's duration bucket: the number of bounds strictly below its duration, i.e.
#: ``len(bounds)`` minus those at or above it, which ``width_bucket`` counts on the
#: negated, ascending bounds (so a duration equal to a bound falls in that bound's ``le``).
_BUCKET = "%s - width_bucket(-(finished - started), %s::float8[])"


class TelemetryMethods:
    """Mixed into ``PostgresStorage``: its ``execute``, ``flush`` and ``lease``."""

    execute: Any
    flush: Any
    lease: Any

    # -- the outbox ----------------------------------------------------------------------

    def outbox_add(self, message: dict[str, Any]) -> bool:
        row = {"status": "pending", "tries": 0, "failures": 0, "last_try": None,
               "error": None, **message}
        return bool(self.execute(
            f"INSERT INTO flowrun_notifications ({', '.join(_ADDED)}) VALUES "
            f"({', '.join(['%s'] * len(_ADDED))}) ON CONFLICT (key) DO NOTHING RETURNING id",
            [row[c] for c in _ADDED]))

    def outbox_due(self, now: float, limit: int = 100) -> list[dict[str, Any]]:
        rows = self.execute(f"{_SELECT} WHERE status='pending' AND next_try<=%s "
                            "ORDER BY next_try, id LIMIT %s", (now, limit))
        return [dict(zip(MESSAGE_COLUMNS, row)) for row in rows]

    def outbox_claim(self, message_id: int, now: float, lease: float) -> bool:
        return bool(self.execute(
            "UPDATE flowrun_notifications SET next_try=%s WHERE id=%s AND "
            "status='pending' AND next_try<=%s RETURNING id",
            (now + lease, message_id, now)))

    def outbox_update(self, message_id: int, status: str, next_try: float | None,
                      error: str | None, now: float) -> None:
        self.execute("UPDATE flowrun_notifications SET status=%s, next_try=%s, error=%s, "
                     "last_try=%s, tries=tries+1, failures=failures+%s WHERE id=%s",
                     (status, next_try, error, now, int(status != "sent"), message_id))

    def outbox_last(self, channel: str, flow: str, event: str) -> float | None:
        return self.execute(
            "SELECT MAX(created) FROM flowrun_notifications WHERE channel=%s AND flow=%s "
            "AND event=%s AND status<>'suppressed'", (channel, flow, event))[0][0]

    def outbox_log(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = self.execute(f"{_SELECT} ORDER BY id DESC LIMIT %s", (limit,))
        return [dict(zip(MESSAGE_COLUMNS, row)) for row in rows]

    def note_missed(self, flow_id: str, slot: float, now: float) -> bool:
        return bool(self.execute(
            "INSERT INTO flowrun_missed (flow, slot, noticed) VALUES (%s, %s, %s) "
            "ON CONFLICT (flow, slot) DO NOTHING RETURNING 1", (flow_id, slot, now)))

    # -- traces ----------------------------------------------------------------------------

    def record_trace(self, run_id: str, trace_id: str) -> None:
        """Keep the run's trace id (hex), for ``flowrun show``."""
        self.execute("UPDATE flowrun_runs SET trace_id=%s WHERE id=%s", (trace_id, run_id))

    def trace_id(self, run_id: str) -> str | None:
        rows = self.execute("SELECT trace_id FROM flowrun_runs WHERE id=%s", (run_id,))
        return rows[0][0] if rows else None

    # -- metrics ---------------------------------------------------------------------------

    def metrics(self, buckets: tuple[float, ...]) -> dict[str, Any]:
        """A few aggregate queries: runs and attempts grouped by name and bucket in SQL
        (a mapped instance's ``[i]`` dropped there too)."""
        self.flush()
        self.lease.sweep()  # a lapsed host's runs are not running
        bounds = (len(buckets), sorted(-float(b) for b in buckets))
        run_rows = self.execute(
            f"SELECT flow, {_BUCKET} AS b, COUNT(*), SUM(finished - started) FROM "
            "flowrun_runs WHERE finished IS NOT NULL AND started IS NOT NULL "
            "GROUP BY flow, b", bounds)
        task_rows = self.execute(
            rf"SELECT regexp_replace(task_id, '\[\d+\]', '', 'g') AS t, {_BUCKET} AS b, "
            "COUNT(*), SUM(finished - started) FROM flowrun_attempts WHERE finished IS "
            "NOT NULL AND started IS NOT NULL GROUP BY t, b", bounds)
        running = self.execute("SELECT pid, host FROM flowrun_runs WHERE status=%s",
                               (RUNNING,))
        return {
            "runs": {(flow, status): n for flow, status, n in self.execute(
                "SELECT flow, status, COUNT(*) FROM flowrun_runs GROUP BY flow, status")},
            "running": count_running(running),
            "run_durations": bucket_histograms(run_rows, len(buckets), lambda flow: flow),
            "task_durations": bucket_histograms(task_rows, len(buckets), _flow_and_task),
            "last_success": dict(self.execute(
                "SELECT flow, MAX(finished) FROM flowrun_runs WHERE status='succeeded' "
                "GROUP BY flow")),
            "missed": dict(self.execute(
                "SELECT flow, COUNT(*) FROM flowrun_missed GROUP BY flow")),
            "notifications_failed": self.execute(
                "SELECT COALESCE(SUM(failures), 0) FROM flowrun_notifications")[0][0],
        }


def _flow_and_task(task_id: str) -> tuple[str, str]:
    flow, _, task = task_id.partition("::")
    return flow, task
