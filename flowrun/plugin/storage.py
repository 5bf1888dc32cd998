"""The storage interface: where runs, attempts, results and flow state are kept.

A backend is made by a plugin's ``flowrun_make_storage(url, config)``. Writes of task
reports are buffered and made durable by ``flush()``, in order, in one transaction: a
report and the result it carries are stored together, so a task is never recorded
``succeeded`` without its result.
"""
from __future__ import annotations

from typing import Any, NamedTuple, Protocol, runtime_checkable

from flowrun.errors import UsageError, redact_url
from flowrun.model import Report, Run


def open_storage(config: Any) -> Storage:
    """The store the config names, made by whichever plugin knows its URL."""
    url = config.store_url
    storage = config.hook.flowrun_make_storage(url=url, config=config)
    if storage is None:
        raise UsageError(f"no store plugin handles '{redact_url(url)}' (try sqlite:///PATH "
                         "or memory:, or install the plugin of that store)")
    return storage


@runtime_checkable
class Storage(Protocol):
    """Runs, attempts, results and flow state. Every method is required."""

    #: The URL it was made for (``sqlite:///...``, ``memory:``), shown to users.
    url: str

    def run_started(self, run: Run) -> None:
        """Record a new run, durably, before its first task starts."""

    def run_finished(self, run: Run) -> None:
        """Flush pending reports, then record the run's final status, durably."""

    def record(self, report: Report) -> None:
        """Buffer the current state of one attempt (a later record of it replaces it)."""

    def record_state(self, flow_id: str, changes: dict[str, Any]) -> None:
        """Buffer changes to a flow's state: ``{key: (blob, format) or None}``."""

    def flush(self) -> None:
        """Make everything buffered durable, in one transaction."""

    def get_state(self, flow_id: str) -> dict[str, tuple[bytes | None, str | None]]:
        """The flow's persistent state, serialized."""

    def find_cached(self, task_id: str, run_key: str, instances: bool = False
                    ) -> Report | None:
        """The newest succeeded attempt of ``task_id`` with ``run_key``, with its result;
        with ``instances``, of any mapped instance ``task_id[i]`` of it too."""

    def get_run(self, run_id: str) -> Run:
        """A run by id or unambiguous id prefix; raise ``StoreError`` if none or many."""

    def list_runs(self, flow: str | None = None, status: str | None = None,
                  limit: int | None = None) -> list[Run]:
        """Runs, newest first."""

    def attempts(self, run_id: str, with_results: bool = False) -> list[Report]:
        """Every attempt of a run, in the order they were recorded."""

    def close(self) -> None:
        """Flush and release the store (and every lock it holds)."""


@runtime_checkable
class SlotStore(Protocol):
    """Optional: cron slots and per-flow locks, for ``flowrun --due`` (see
    ``flowrun.schedules.due``). A store without them cannot serve ``--due``,
    ``--backfill`` overlap checks or ``flowrun schedule``; the schedules plugin says so.

    How the lock is made is the store's business (a ``flock`` beside a SQLite file, an
    advisory lock in PostgreSQL): it must only die with the process that took it.
    """

    def lock_flow(self, flow_id: str) -> bool:
        """Take the flow's lock without waiting; False if another process holds it. The
        lock must die with the process (a killed ``--due`` cannot leave it held)."""

    def unlock_flow(self, flow_id: str) -> None:
        """Release the flow's lock (nothing if not held)."""

    def last_slots(self, flow_id: str | None = None) -> dict[str, tuple[float, str, Any]]:
        """flow id -> (newest recorded slot, its status, busy_seen), one cheap query."""

    def slot_history(self, flow_id: str) -> list[tuple[float, str]]:
        """Every recorded slot of the flow with its status, oldest first."""

    def claim_slots(self, flow_id: str, slots: list[float], skipped: list[float],
                    now: float) -> list[float]:
        """Atomically record ``slots`` as running and ``skipped`` as skipped; return the
        slots this call claimed (each slot is claimed at most once, ever). Called while
        holding ``lock_flow``: slots left running by a dead process become abandoned."""

    def finish_slot(self, flow_id: str, slot: float, status: str, now: float) -> None:
        """Record the final status of a claimed slot's run."""

    def note_busy(self, flow_id: str, slot: float) -> None:
        """Note on the flow's running slot that ``slot`` came due meanwhile."""


@runtime_checkable
class LiveStore(Protocol):
    """Optional: reads for live views such as ``flowrun ui``. A store without them is
    still shown, by polling ``list_runs`` (slower, and without ``before``)."""

    def changes(self, cursor: Any, recheck: bool = False
                ) -> tuple[Any, list[Run], list[Report]]:
        """``(cursor, runs, reports)``: runs that may have changed since ``cursor`` (new
        ones and those that were running), the attempts written since (without
        captured output or results; some older ones may come again), and the cursor
        for the next call. ``cursor`` None: the
        current position, nothing returned. Cheap when nothing changed; ``recheck``
        looks again even then (a running run's process may have died). Call it on a
        store of its own: other connections' commits are what it notices."""

    def runs_page(self, flow: str | None = None, status: str | None = None,
                  limit: int = 50, before: str | None = None) -> list[Run]:
        """Runs newest first, older than the run ``before`` (``StoreError`` if there is
        no such run), running ones with their task counts so far."""


@runtime_checkable
class StateLockStore(Protocol):
    """Optional: a lock per flow around ``context.state`` (see ``flowrun.context``), so
    read-modify-write of a key is never interleaved across runs. A store without it
    gives each attempt a snapshot and merges its writes key by key, last write wins."""

    def lock_state(self, flow_id: str, wait: bool = True) -> tuple[Any, dict] | None:
        """Take the flow's state lock, waiting for it (also against other holders in
        this process) unless ``wait`` is False (then None if it is busy); return its
        handle and the flow's state as stored now (``{key: (blob, format)}``). Called
        from a task's thread too. The lock must die with the process."""

    def unlock_state(self, handle: Any) -> None:
        """Release a lock ``lock_state`` gave."""


@runtime_checkable
class FingerprintStore(Protocol):
    """Optional: fingerprints of cached tasks (API section 10), one per (task id,
    partition), each with the success it belongs to. A store without them runs every
    cached task (it says so once). ``fingerprint`` is opaque versioned JSON text: store
    it as it is; ``partition`` is ``""`` for a run without one. Three methods:
    """

    def record_fingerprint(self, task_id: str, partition: str, fingerprint: str,
                           success: Report) -> None:
        """Keep (replacing any) the fingerprint of ``success``, a succeeded attempt:
        its ``run_id``, ``result``, ``result_format`` and ``finished`` are kept with
        it. May be buffered until ``flush``, like ``record``; a ``get_fingerprint`` of
        this store sees it at once."""

    def get_fingerprint(self, task_id: str, partition: str) -> tuple[str, Report] | None:
        """The recorded fingerprint and its success (``run_id``, ``task_id``,
        ``result`` loaded, ``result_format``, ``finished`` = when recorded), or None."""

    def forget_fingerprints(self, task_id: str) -> int:
        """Drop the fingerprints of ``task_id`` and of its mapped instances
        (``task_id[i]``), every partition; return how many were dropped."""


@runtime_checkable
class QuickFingerprintStore(Protocol):
    """Optional, beside ``FingerprintStore``: each fingerprint's quick key (opaque
    text, ``flowrun.fingerprint.quick_key``), so a null run compares one short string
    per cached task instead of reading its fingerprint. A store without it judges
    every cached task the long way (same verdicts, slower). Two methods:
    """

    def record_fingerprint(self, task_id: str, partition: str, fingerprint: str,
                           success: Report, quick: str | None = None) -> None:
        """``FingerprintStore.record_fingerprint``, keeping ``quick`` beside it (None:
        none). A later record without one drops the old."""

    def quick_fingerprints(self, flow_id: str, partition: str) -> dict[str, tuple]:
        """Task id -> ``(quick, result, result_format, result_ref, finished)``
        for every fingerprint of the flow and partition that has a quick key, buffered
        ones included. The store may keep the mapping it hands out up to date itself,
        so it is read once per run."""


@runtime_checkable
class OutboxStore(Protocol):
    """Optional: the notifications' outbox (``flowrun.notify``). A message is a dict:
    ``id`` (given by the store), ``key`` (unique: a message is added once, ever),
    ``channel`` (a hash naming the configured channel), ``label`` (the channel shown
    without secrets), ``event``, ``flow``, ``run_id``, ``payload`` (JSON text),
    ``created``, ``status`` (``pending``, ``sent``, ``failed``, ``suppressed``),
    ``tries``, ``failures``, ``next_try``, ``last_try``, ``error``. A store without it
    sends nothing: the notify plugin says so once."""

    def outbox_add(self, message: dict[str, Any]) -> bool:
        """Add ``message`` unless one with its ``key`` exists; True if added."""

    def outbox_due(self, now: float, limit: int = 100) -> list[dict[str, Any]]:
        """Pending messages whose ``next_try`` is at or before ``now``, oldest first."""

    def outbox_claim(self, message_id: int, now: float, lease: float) -> bool:
        """Take a due pending message for one try (its ``next_try`` moved ``lease``
        seconds on, atomically); False if another process took it first. Two
        invocations ending at once never send a message twice."""

    def outbox_update(self, message_id: int, status: str, next_try: float | None,
                      error: str | None, now: float) -> None:
        """Record one delivery try of a message: its new status, when to try again
        (pending), what went wrong; counts the try (and the failure, if it failed)."""

    def outbox_last(self, channel: str, flow: str, event: str) -> float | None:
        """When the newest message not ``suppressed`` of (channel, flow, event) was
        added: ``min_interval`` rate limiting."""

    def outbox_log(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest messages first, whatever their status."""

    def note_missed(self, flow_id: str, slot: float, now: float) -> bool:
        """Record that the flow's cron slot ``slot`` was missed; True the first time
        (every host sharing the store sees one answer True, once per slot)."""


@runtime_checkable
class TraceStore(Protocol):
    """Optional: a run's OpenTelemetry trace id (``flowrun --otel``), for ``flowrun
    show``. A store without it traces all the same; ``show`` prints no trace id."""

    def record_trace(self, run_id: str, trace_id: str) -> None:
        """Keep the trace id (32 hex digits) of run ``run_id``."""

    def trace_id(self, run_id: str) -> str | None:
        """The trace id kept for the run; None if none."""


@runtime_checkable
class MetricsStore(Protocol):
    """Optional: the aggregates ``flowrun metrics`` and the UI's ``/metrics`` print,
    computed by the store in a few aggregate queries (never row by row)."""

    def metrics(self, buckets: tuple[float, ...]) -> dict[str, Any]:
        """``runs``: {(flow, status): count}; ``running``: runs running now;
        ``run_durations`` / ``task_durations``: {flow or (flow, task): (per-bucket
        counts, non-cumulative, one more than ``buckets`` for +Inf; sum)} of finished
        runs / attempts (a mapped instance counts as its task); ``last_success``:
        {flow: epoch seconds}; ``missed``: {flow: count}; ``notifications_failed``:
        failed delivery tries."""


@runtime_checkable
class PauseStore(Protocol):
    """Optional: paused schedules (``flowrun schedule pause FLOW``, the UI's Pause), kept
    in the store so ``--due`` on every host sharing it skips a paused flow. A store
    without it cannot pause; ``flowrun schedule pause`` says so."""

    def pause_flow(self, flow_id: str, paused: bool = True, now: float | None = None
                   ) -> None:
        """Pause the flow's schedule at ``now`` (default: the time now); ``paused``
        False: resume it. Pausing a paused flow keeps the time it was first paused."""

    def paused_flows(self) -> dict[str, float]:
        """Paused flow id -> when it was paused (epoch seconds)."""


class LogHit(NamedTuple):
    """One stored line that matched a search of the logs."""

    run_id: str
    flow_id: str
    task_id: str
    attempt: int
    stream: str  # "stdout", "stderr" or "log"
    line_number: int  # 1-based, within that attempt's stream
    line: str


@runtime_checkable
class LogSearchStore(Protocol):
    """Optional: full-text search of every stored log (``flowrun logs --grep``, the
    UI's search). A store without it is searched by reading each run's attempts."""

    def search_logs(self, text: str, flow: str | None = None, limit: int = 100
                    ) -> list[LogHit]:
        """Lines of captured stdout, stderr and log records that contain every word
        of ``text`` (as a phrase where the store can), newest runs first, at most
        ``limit``; ``flow`` keeps those of that flow's runs."""


def search_logs(storage: Any, text: str, flow: str | None = None, limit: int = 100
                ) -> list[LogHit]:
    """``storage.search_logs`` where the store has it; else every run's attempts read
    and their lines matched (slow, but any store answers)."""
    if isinstance(storage, LogSearchStore):
        return storage.search_logs(text, flow=flow, limit=limit)
    import re

    words = [w.lower() for w in re.findall(r"\w+", text)]
    hits: list[LogHit] = []
    for run in storage.list_runs(flow=flow) if words else []:
        for a in storage.attempts(run.id):
            for stream in ("stdout", "stderr", "log"):
                for number, line in enumerate((getattr(a, stream) or "").splitlines(), 1):
                    if all(w in line.lower() for w in words):
                        hits.append(LogHit(run.id, run.flow_id, a.task_id, a.attempt,
                                           stream, number, line))
                        if len(hits) >= limit:
                            return hits
    return hits


@runtime_checkable
class LeaseStore(Protocol):
    """Optional: leases, for a store that several hosts share (a process on another host
    cannot be asked whether it is alive). The store renews the lease of every run it
    started while it is open; a run whose lease was not renewed for ``lease_timeout``
    seconds is declared interrupted by whichever host notices, and the store that lost
    it has its later writes of that run refused (``StoreError``)."""

    #: Seconds without a renewal after which a running run is interrupted.
    lease_timeout: float

    def expire_leases(self) -> list[str]:
        """Declare interrupted every run whose lease lapsed, with the reason "host H
        stopped renewing at T"; their cron slots stay taken. Return their ids."""


@runtime_checkable
class LimitStore(Protocol):
    """Optional: concurrency ``limits`` counted in the store, so a group's slots are
    shared by every run on every host using it (a store without it: each run counts its
    own). A run's slots are released when it finishes or its lease lapses."""

    def take_limits(self, run_id: str, wanted: dict[str, int]) -> bool:
        """Take one slot in each group of ``wanted`` (group -> its size) for ``run_id``,
        all or none, in one transaction; False if one is full (or the store is briefly
        unreachable: the caller tries again later); ``StoreError`` if the run's lease
        was taken by another host (``LeaseStore``)."""

    def give_limits(self, run_id: str, groups: tuple[str, ...]) -> None:
        """Give back one of ``run_id``'s slots in each of ``groups``."""
