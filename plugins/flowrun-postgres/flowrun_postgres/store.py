"""[plugin] The shared store: runs, attempts, results and state in PostgreSQL.

Task reports are buffered as on SQLite and written per flush in one short transaction
(``COPY`` for many rows, else whole statements), checking last that this host still holds
each run's lease generation: a host that comes back after another declared its run
interrupted cannot overwrite what came since. A lost connection keeps the buffer and
retries with backoff for up to ``reconnect_timeout`` seconds.
"""
from __future__ import annotations

import json
import operator
import time
from typing import Any

from flowrun.plugin import SUCCEEDED, Report, Run, StoreError, redact_url
from flowrun_postgres import (
    connect,
    fingerprints,
    leases,
    limits,
    live,
    locks,
    pausing,
    schema,
    search,
    slots,
    telemetry,
)
from flowrun_postgres.rows import Upsert

ATTEMPT_COLUMNS = (
    "run_id", "task_id", "attempt", "status", "queued", "started", "finished", "error",
    "summary", "reason", "stdout", "stderr", "log", "result", "result_format", "run_key",
    "parent", "result_ref", "source_hash", "args_hash")
RUN_COLUMNS = ("id", "flow", "status", "started", "finished", "params", "resumed_from",
               "counts", "partition", "scheduled_for", "pid", "host", "error", "reason")
ATTEMPTS = Upsert("flowrun_attempts", ATTEMPT_COLUMNS, (
    " ON CONFLICT (run_id, task_id, attempt) DO UPDATE SET " + ", ".join(
        f"{c} = EXCLUDED.{c}" for c in ATTEMPT_COLUMNS[3:]) + ", seq = nextval('flowrun_seq')"))
_row = operator.attrgetter(*ATTEMPT_COLUMNS)
_TEXT = tuple(ATTEMPT_COLUMNS.index(c) for c in ("error", "stdout", "stderr", "log"))
#: Buffered records written at once even before the engine's next timed flush.
FLUSH_BATCH = 2000


class PostgresStorage(slots.SlotMethods, live.LiveMethods, locks.LockMethods,
                      limits.LimitMethods, pausing.PauseMethods,
                      fingerprints.FingerprintMethods, telemetry.TelemetryMethods,
                      search.SearchMethods):
    def __init__(self, url: str, settings: dict[str, float] | None = None) -> None:
        self.url = url
        self.settings = {**leases.DEFAULTS, **(settings or {})}
        self.pool = connect.open_pool(url, self.settings["lease_timeout"])
        try:
            with self.pool.connection() as conn:
                schema.ensure_schema(conn, url)
        except StoreError:
            self.pool.close()
            raise
        except Exception as exc:
            self.pool.close()
            raise connect.unreachable(exc, url) from None
        self._pending: dict[tuple[str, str, int], tuple] = {}
        self._state: list[tuple[str, str, Any]] = []
        self.lease = leases.Lease(self)
        self._lost_since: float | None = None
        self._gone = False
        locks.LockMethods.__init__(self)
        live.LiveMethods.__init__(self)
        fingerprints.FingerprintMethods.__init__(self)

    # -- leases (the optional LeaseStore interface) -------------------------------------

    @property
    def lease_timeout(self) -> float:
        return self.settings["lease_timeout"]

    @lease_timeout.setter
    def lease_timeout(self, seconds: float) -> None:
        self.settings["lease_timeout"] = seconds

    def expire_leases(self) -> list[str]:
        return self.lease.sweep()

    # -- the connection ----------------------------------------------------------------

    def execute(self, sql: str, args: Any = (), fetch: bool = True) -> list[tuple]:
        """One statement on a pooled connection (autocommit); its rows."""
        import psycopg

        try:
            with self.pool.connection(timeout=connect.CONNECT_TIMEOUT) as conn:
                cur = conn.execute(sql, args)
                return cur.fetchall() if fetch and cur.description else []
        except (psycopg.OperationalError, _pool_timeout()) as exc:
            raise StoreError(f"the store {redact_url(self.url)} is unreachable: "
                             f"{connect.clean_message(exc, self.url)}") from None

    # -- writes ------------------------------------------------------------------------

    def run_started(self, run: Run) -> None:
        def work(cur: Any) -> None:
            cur.execute(
                "INSERT INTO flowrun_runs (id, flow, status, started, params, resumed_from, "
                "partition, scheduled_for, pid, host, error, reason, renewed) VALUES "
                f"(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, {leases.NOW})",
                (run.id, run.flow_id, run.status, run.started,
                 json.dumps(run.params, default=repr), run.resumed_from, run.partition,
                 run.scheduled_for, run.pid, run.host, run.error, run.reason))
            cur.execute("NOTIFY flowrun_changes")
        self._write(work)
        self.lease.hold(run.id)

    def run_finished(self, run: Run) -> None:
        """Flush, then record the outcome, in one transaction (while this host still
        holds the run's lease)."""
        def work(cur: Any) -> None:
            self._write_pending(cur, {run.id})
            cur.execute("UPDATE flowrun_runs SET status=%s, finished=%s, counts=%s, "
                        "error=%s, seq=nextval('flowrun_seq') WHERE id=%s",
                        (run.status, run.finished, json.dumps(run.counts), run.error,
                         run.id))
            cur.execute("DELETE FROM flowrun_limits WHERE run_id=%s", (run.id,))
            cur.execute("NOTIFY flowrun_changes")
        self._write_until_deadline(work)
        self.lease.release(run.id)

    def record(self, r: Report) -> None:
        row = _row(r)
        for i in _TEXT:  # PostgreSQL text holds no NUL character
            if row[i] and "\x00" in row[i]:
                row = (*row[:i], row[i].replace("\x00", "\ufffd"), *row[i + 1:])
        self._pending[(r.run_id, r.task_id, r.attempt)] = row
        if len(self._pending) >= FLUSH_BATCH:
            self.flush()

    def record_state(self, flow_id: str, changes: dict[str, Any]) -> None:
        self._state.extend((flow_id, key, value) for key, value in changes.items())

    def flush(self) -> None:
        """Write what is buffered; while the database is away, keep it (up to
        ``reconnect_timeout``, then ``StoreError``)."""
        if self._pending or self._state or self._fingerprints:
            self._write_until_deadline(self._write_pending, wait=False)

    def _write_pending(self, cur: Any, runs: set[str] | frozenset = frozenset()) -> None:
        """The buffer, then the fence (the runs written for, and ``runs``, locked and
        checked). Many rows are staged by ``COPY`` first and every other write is one
        whole statement, so a host that hangs midway holds no lock the server keeps
        past ``lease_timeout`` (``flowrun_postgres.rows``)."""
        rows, state, prints = list(self._pending.values()), self._state, self.fingerprint_rows()
        staged = ATTEMPTS.stage(cur, rows), fingerprints.FINGERPRINTS.stage(cur, prints)
        ATTEMPTS.write(cur, rows, staged[0])
        for flow, key, value in state:
            if value is None:
                cur.execute("DELETE FROM flowrun_state WHERE flow=%s AND key=%s", (flow, key))
            else:
                cur.execute("INSERT INTO flowrun_state VALUES (%s, %s, %s, %s) ON CONFLICT "
                            "(flow, key) DO UPDATE SET value=EXCLUDED.value, "
                            "format=EXCLUDED.format", (flow, key, value[0], value[1]))
        fingerprints.FINGERPRINTS.write(cur, prints, staged[1])
        self.lease.check_held(cur, {row[0] for row in rows} | runs)
        cur.execute("NOTIFY flowrun_changes")

    def _write(self, work: Any, timeout: float = connect.CONNECT_TIMEOUT) -> None:
        """``work(cursor)`` in one transaction; ``StoreError`` if the database is away."""
        import psycopg

        if self._gone:
            raise StoreError(f"the store {redact_url(self.url)} is unreachable")
        try:
            with self.pool.connection(timeout=max(timeout, 0.1)) as conn:
                with conn.transaction(), conn.cursor() as cur:
                    work(cur)
        except (psycopg.OperationalError, _pool_timeout()) as exc:
            raise StoreError(f"cannot write the store {redact_url(self.url)}: "
                             f"{connect.clean_message(exc, self.url)}") from None

    def _write_until_deadline(self, work: Any, wait: bool = True) -> None:
        """``work`` then forget the buffer; on a lost connection keep it and retry with
        backoff (``wait``) or later, until ``reconnect_timeout`` has passed."""
        delay = 0.1
        while True:
            waited = time.monotonic() - (self._lost_since or time.monotonic())
            try:
                self._write(work, min(connect.CONNECT_TIMEOUT,
                                      self.settings["reconnect_timeout"] - waited))
            except StoreError as exc:
                if not isinstance(exc, leases.LeaseLost):
                    self._still_waiting(exc)
                    if wait:
                        time.sleep(delay)
                        delay = min(delay * 2, 5.0)
                        continue
                    return
                self._pending, self._state, self._fingerprints = {}, [], {}
                raise
            self._pending, self._state, self._lost_since = {}, [], None
            self.fingerprints_written()
            return

    def _still_waiting(self, exc: StoreError) -> None:
        now = time.monotonic()
        self._lost_since = self._lost_since or now
        if now - self._lost_since >= self.settings["reconnect_timeout"]:
            self._gone = True  # nothing more is tried: the run stops now
            raise leases.ConnectionGone(
                f"{exc}; gave up after {self.settings['reconnect_timeout']:g} s: the run "
                "stops interrupted (`flowrun --resume` continues it once the store is back)")

    def close(self) -> None:
        try:
            self.flush()
        except StoreError:
            pass  # a write that cannot be made was reported when it failed
        finally:
            self.lease.stop()
            locks.LockMethods.close_locks(self)
            live.LiveMethods.close_live(self)
            self.pool.close(timeout=1.0)

    # -- reads -------------------------------------------------------------------------

    def get_state(self, flow_id: str) -> dict[str, tuple[bytes | None, str | None]]:
        rows = self.execute("SELECT key, value, format FROM flowrun_state WHERE flow=%s",
                            (flow_id,))
        return {key: (_bytes(value), fmt) for key, value, fmt in rows}

    def find_cached(self, task_id: str, run_key: str, instances: bool = False
                    ) -> Report | None:
        self.flush()
        where = "(task_id=%s OR (task_id>%s AND task_id<%s))" if instances else "task_id=%s"
        ids = (task_id, task_id + "[", task_id + "\\") if instances else (task_id,)
        rows = self.execute(
            f"SELECT {', '.join(ATTEMPT_COLUMNS)} FROM flowrun_attempts WHERE run_key=%s "
            f"AND {where} AND status=%s ORDER BY finished DESC NULLS LAST LIMIT 1",
            (run_key, *ids, SUCCEEDED))
        return report_from(rows[0]) if rows else None

    def get_run(self, run_id: str) -> Run:
        self.flush()
        self.lease.sweep()
        prefix = run_id.replace("%", "").replace("_", "").replace("\\", "") + "%"
        rows = self.execute(f"SELECT {', '.join(RUN_COLUMNS)} FROM flowrun_runs WHERE id "
                            "LIKE %s ORDER BY started DESC LIMIT 2", (prefix,))
        if not rows:
            raise StoreError(f"no run {run_id!r} in the store {redact_url(self.url)}")
        if len(rows) > 1 and rows[0][0] != run_id:
            raise StoreError(f"run id {run_id!r} is ambiguous: it starts "
                             f"{rows[0][0]} and {rows[1][0]}; give more characters")
        return run_from(rows[0])

    def list_runs(self, flow: str | None = None, status: str | None = None,
                  limit: int | None = None) -> list[Run]:
        self.flush()
        self.lease.sweep()
        where, args = [], []
        if flow:
            where.append("flow=%s")
            args.append(flow)
        if status:
            where.append("status=%s")
            args.append(status)
        sql = f"SELECT {', '.join(RUN_COLUMNS)} FROM flowrun_runs" + (
            " WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY started DESC, seq DESC" + (f" LIMIT {int(limit)}" if limit else "")
        return [run_from(row) for row in self.execute(sql, args)]

    def attempts(self, run_id: str, with_results: bool = False) -> list[Report]:
        self.flush()
        columns = ", ".join(c if with_results or c != "result" else "NULL"
                            for c in ATTEMPT_COLUMNS)
        rows = self.execute(f"SELECT {columns} FROM flowrun_attempts WHERE run_id=%s "
                            "ORDER BY seq", (run_id,))
        return [report_from(row) for row in rows]


def _pool_timeout() -> type:
    from psycopg_pool import PoolTimeout

    return PoolTimeout


def _bytes(value: Any) -> bytes | None:
    return bytes(value) if value is not None else None


def report_from(row: tuple) -> Report:
    values = dict(zip(ATTEMPT_COLUMNS, row))
    values["result"] = _bytes(values["result"])
    return Report(**values, flow_id=row[1].partition("::")[0])


def run_from(row: tuple) -> Run:
    """A run as stored; one left ``running`` by a dead process on this very host reads
    as ``interrupted`` at once (other hosts' runs wait for their lease to lapse)."""
    rid, flow, status, started, finished, params, resumed_from, counts, partition, \
        scheduled_for, pid, host, error, reason = row
    run = Run(id=rid, flow_id=flow, status=status, started=started, finished=finished,
              params=json.loads(params or "{}"), resumed_from=resumed_from,
              counts=json.loads(counts or "{}"), partition=partition,
              scheduled_for=scheduled_for, pid=pid, host=host, error=error, reason=reason)
    if run.process_gone():
        run.status = "interrupted"
    return run


def report_from_light(row: tuple) -> Report:
    from flowrun_postgres.live import LIGHT_COLUMNS

    values = dict(zip(LIGHT_COLUMNS, row))
    return Report(**values, flow_id=values["task_id"].partition("::")[0])
