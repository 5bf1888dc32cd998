"""Concurrency ``limits`` shared by every host (the ``LimitStore`` half of the store).

A group's taken slots are rows of ``flowrun_limits`` (group, holder run). Taking locks
each group with a transaction advisory lock, in sorted order (one lock order: two hosts
never deadlock), counts its rows and adds one per group, all or none. A run's rows go
when it finishes or its lease lapses (``leases.sweep``)."""
from __future__ import annotations

from typing import Any

from flowrun.plugin import StoreError
from flowrun_postgres.leases import LeaseLost
from flowrun_postgres.locks import _key
from flowrun_postgres.rows import Upsert

LIMITS = Upsert("flowrun_limits", ("grp", "run_id"))


class LimitMethods:
    """Mixed into ``PostgresStorage``: ``execute``, ``_write``, ``_still_waiting`` and
    ``lease`` come from it."""

    execute: Any
    _write: Any
    _still_waiting: Any
    _lost_since: float | None
    lease: Any

    def take_limits(self, run_id: str, wanted: dict[str, int]) -> bool:
        taken = [False]

        def work(cur: Any) -> None:
            self.lease.check_held(cur, {run_id})  # a lapsed run takes none (sweep freed its)
            for group in sorted(wanted):
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (_key("limit:" + group),))
                cur.execute("SELECT count(*) FROM flowrun_limits WHERE grp=%s", (group,))
                if cur.fetchone()[0] >= wanted[group]:
                    return  # nothing inserted yet: the transaction commits nothing
            LIMITS.write(cur, [(group, run_id) for group in sorted(wanted)])
            taken[0] = True
        try:
            self._write(work)
            if not taken[0] and self.lease.sweep():  # a dead host's slots came free
                self._write(work)
        except LeaseLost:
            raise  # another host declared this run interrupted: it stops
        except StoreError as exc:
            self._still_waiting(exc)  # past reconnect_timeout this raises: the run stops
            return False
        self._lost_since = None  # the database answers again
        return taken[0]

    def give_limits(self, run_id: str, groups: tuple[str, ...]) -> None:
        def work(cur: Any) -> None:
            for group in sorted(groups):
                cur.execute("DELETE FROM flowrun_limits WHERE ctid = (SELECT ctid FROM "
                            "flowrun_limits WHERE grp=%s AND run_id=%s LIMIT 1)",
                            (group, run_id))
        try:
            self._write(work)
        except StoreError:
            pass  # the database is away: the run's slots go when it ends or its lease lapses

    def limits_held(self) -> dict[str, int]:
        """How many slots each group has taken now, by every host (for tests and
        ``show``-like views)."""
        return dict(self.execute("SELECT grp, count(*) FROM flowrun_limits GROUP BY grp"))
