"""Runs the UI starts: each a separate ``flowrun`` process in the rootdir, told its run
id up front (``FLOWRUN_RUN_ID``) so the id is answered at once. Until the child has
written its run, a pending record stands in for it; if the child exits without one
(a bad parameter), the record says why."""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from flowrun.plugin import FAILED, INTERRUPTED, RUNNING, StoreError


@dataclass
class Pending:
    """A run asked for that the store does not hold yet."""

    id: str
    flow_id: str
    params: dict[str, Any] = field(default_factory=dict)
    partition: str | None = None
    resumed_from: str | None = None
    status: str = RUNNING
    started: float = field(default_factory=time.time)
    finished: float | None = None
    error: str | None = None
    pid: int | None = None
    host: str | None = field(default_factory=lambda: os.uname().nodename)
    counts: dict[str, int] = field(default_factory=dict)


class Launcher:
    def __init__(self, state: Any) -> None:
        self.state = state
        self.pending: dict[str, Pending] = {}
        self._lock = threading.Lock()

    def new_id(self) -> str:
        return secrets.token_hex(6)

    def start(self, args: list[str], record: Pending, env: dict[str, str] | None = None
              ) -> None:
        """Start ``flowrun ARGS`` for the run ``record`` names, in the background."""
        with self._lock:
            self.pending[record.id] = record
        self._spawn(args, record, env)

    def start_queue(self, jobs: list[tuple[list[str], Pending]]) -> None:
        """Start each job after the one before it has finished (a backfill)."""
        with self._lock:
            self.pending.update((record.id, record) for _, record in jobs)

        def run_all() -> None:
            for args, record in jobs:
                proc = self._spawn(args, record)
                if proc is not None:
                    proc.wait()
                    time.sleep(0.05)  # let the reaper record how it ended

        threading.Thread(target=run_all, name="flowrun-ui-queue", daemon=True).start()

    def _spawn(self, args: list[str], record: Pending, more: dict[str, str] | None = None
               ) -> subprocess.Popen | None:
        errors = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
        env = {**os.environ, "FLOWRUN_RUN_ID": record.id,
               "FLOWRUN_STORE": self.state.store_url, **(more or {})}
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "flowrun", *args, "-q"], cwd=self.state.rootdir,
                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=errors, start_new_session=True)  # a Ctrl-C of the UI spares runs
        except OSError as exc:
            self._ended(record, f"could not start flowrun: {exc}")
            errors.close()
            return None
        record.pid = proc.pid
        threading.Thread(target=self._reap, args=(proc, record, errors), daemon=True,
                         name=f"flowrun-ui-{record.id}").start()
        return proc

    def _reap(self, proc: subprocess.Popen, record: Pending, errors: Any) -> None:
        """Wait for the child (so it never lingers as a zombie that looks alive); if it
        never wrote its run, keep why."""
        code = proc.wait()
        errors.seek(0)
        lines = [ln.strip() for ln in errors.read().splitlines() if ln.strip()]
        errors.close()
        if self._stored(record.id):
            with self._lock:
                self.pending.pop(record.id, None)
            return
        reason = lines[-1].removeprefix("ERROR: ") if lines else f"flowrun exited {code}"
        self._ended(record, reason, INTERRUPTED if code == 2 else FAILED)

    def _ended(self, record: Pending, error: str, status: str = FAILED) -> None:
        record.status, record.error, record.finished = status, error, time.time()

    def _stored(self, run_id: str) -> bool:
        store = self.state.open_store()
        try:
            store.get_run(run_id)
            return True
        except StoreError:
            return False
        finally:
            store.close()

    def get(self, run_id: str) -> Pending | None:
        with self._lock:
            return self.pending.get(run_id)

    def interrupt(self, run_id: str, pid: int) -> None:
        """As Ctrl-C: the run starts no new task and records itself interrupted. If it
        is still running after ``interrupt_grace`` seconds (config, default 10), a
        second one stops its running tasks, as a second Ctrl-C does."""
        os.kill(pid, signal.SIGINT)
        grace = float(self.state.config.ini.get("interrupt_grace", 10))
        timer = threading.Timer(grace, self._interrupt_again, (run_id, pid))
        timer.daemon = True
        timer.start()

    def _interrupt_again(self, run_id: str, pid: int) -> None:
        store = self.state.open_store()
        try:
            run = store.get_run(run_id)
        except StoreError:
            return
        finally:
            store.close()
        if run.status == RUNNING and run.pid == pid:
            try:
                os.kill(pid, signal.SIGINT)
            except OSError:
                pass
