"""The storage interface: where runs, attempts, results and flow state are kept.

A backend is made by a plugin's ``flowrun_make_storage(url, config)``. Writes of task
reports are buffered and made durable by ``flush()``, in order, in one transaction: a
report and the result it carries are stored together, so a task is never recorded
``succeeded`` without its result.
"""
from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

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
