"""Hosts and leases. A running session renews the lease of each of its runs every
``lease_interval`` seconds (the database's clock, so hosts' clocks may disagree); any
reader finding a run whose lease lapsed ``lease_timeout`` ago declares it interrupted
("host H stopped renewing at T") and bumps its generation, the fence: every later write
of the old holder checks its generation in the same transaction and is refused."""
from __future__ import annotations

import threading
from typing import Any

from flowrun.plugin import ExitCode, StoreError

DEFAULTS = {"lease_interval": 10.0, "lease_timeout": 60.0, "reconnect_timeout": 60.0}
#: The database's clock, in epoch seconds: the one clock every host's lease is read by.
NOW = "extract(epoch from clock_timestamp())"
_REASON = ("'host ' || COALESCE(host, '?') || ' stopped renewing at ' || "
           "to_char(to_timestamp(renewed) AT TIME ZONE 'UTC', "
           "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
#: Hosts sweeping at once skip each other's rows (and those a live host is writing)
#: rather than wait for them.
_SWEEP = (f"UPDATE flowrun_runs SET status='interrupted', finished=renewed, "
          f"reason={_REASON}, lease_gen=lease_gen+1, seq=nextval('flowrun_seq') "
          f"WHERE id IN (SELECT id FROM flowrun_runs WHERE status='running' AND "
          f"renewed < {NOW} - %s FOR UPDATE SKIP LOCKED) RETURNING id, flow, scheduled_for")


class LeaseLost(StoreError):
    """Another host declared this host's run interrupted: its later writes are refused."""

    exit_code = ExitCode.INTERRUPTED


class ConnectionGone(StoreError):
    """The database stayed away longer than ``reconnect_timeout``: the run is stopped."""

    exit_code = ExitCode.INTERRUPTED


class Lease:
    """The leases of the runs this store started, renewed by a daemon thread."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.gens: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, run_id: str) -> None:
        self.gens[run_id] = 0
        if self._thread is None:
            self._thread = threading.Thread(target=self._renew_loop, daemon=True,
                                            name="flowrun-lease")
            self._thread.start()

    def gen(self, run_id: str) -> int:
        return self.gens.get(run_id, 0)

    def release(self, run_id: str) -> None:
        self.gens.pop(run_id, None)

    def check_held(self, cur: Any, run_ids: set[str]) -> None:
        """Lock the rows of ``run_ids`` held here; ``LeaseLost`` if one was taken."""
        held = sorted(run_id for run_id in run_ids if run_id in self.gens)
        if not held:
            return
        cur.execute("SELECT id, lease_gen, reason FROM flowrun_runs WHERE id = ANY(%s) "
                    "ORDER BY id FOR UPDATE", (held,))
        for run_id, gen, reason in cur.fetchall():
            if gen != self.gens[run_id]:
                self.gens.pop(run_id, None)
                raise LeaseLost(f"run {run_id} was declared interrupted by another host "
                                f"({reason}); what this host did since is not recorded: "
                                f"`flowrun --resume {run_id}` continues it")

    def renew(self) -> None:
        held = [run_id for run_id, gen in list(self.gens.items()) if gen == 0]
        if held:
            self.store.execute(f"UPDATE flowrun_runs SET renewed={NOW} WHERE id = ANY(%s) "
                               "AND lease_gen = 0 AND status = 'running'", (held,),
                               fetch=False)

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.store.settings["lease_interval"]):
            try:
                self.renew()
            except StoreError:
                pass  # the database is away: the run goes on; its lease may lapse

    def sweep(self) -> list[str]:
        """Declare interrupted every run whose lease lapsed (their ids); their cron
        slots stay taken (``interrupted``: never run again by ``--due``)."""
        timeout = self.store.settings["lease_timeout"]
        lapsed: list[tuple] = []

        def work(cur: Any) -> None:
            cur.execute(_SWEEP, (timeout,))
            lapsed[:] = cur.fetchall()
            if lapsed:  # their concurrency slots are free for other runs
                cur.execute("DELETE FROM flowrun_limits WHERE run_id = ANY(%s)",
                            ([run_id for run_id, _, _ in lapsed],))
            for _, flow, slot in lapsed:
                cur.execute(f"UPDATE flowrun_slots SET status='interrupted', finished={NOW} "
                            "WHERE flow=%s AND slot=%s AND status='running'", (flow, slot))
            if lapsed:
                cur.execute("NOTIFY flowrun_changes")
        self.store._write(work)
        return [run_id for run_id, _, _ in lapsed]

    def stop(self) -> None:
        self._stop.set()
