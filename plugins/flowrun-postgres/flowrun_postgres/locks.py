"""Flow locks (``--due``) and ``context.state`` locks: PostgreSQL advisory locks held
by one connection of their own, so they die with the process (its connection closes).

Session-level advisory locks are re-entrant within a connection, so threads of this
process are first kept apart by a ``threading.Lock`` per name; waiting polls with
``pg_try_advisory_lock``, so a waiting thread stays interruptible and never holds the
shared connection while it waits. A host that vanishes without closing its connection
(power loss, a network cut) is dropped by the server's TCP keepalives within about
``lease_timeout``, and its locks with it."""
from __future__ import annotations

import struct
import threading
import time
from typing import Any

from flowrun.plugin import blake2b
from flowrun_postgres import connect


def _key(name: str) -> int:
    """A 64-bit advisory lock key for a name."""
    return struct.unpack("q", blake2b(name.encode(), digest_size=8).digest())[0]


class LockMethods:
    """Mixed into ``PostgresStorage``."""

    url: str
    settings: dict[str, float]
    get_state: Any

    def __init__(self) -> None:
        self._lock_conn: Any = None
        self._guard = threading.Lock()  # the lock connection, one statement at a time
        self._local: dict[str, threading.Lock] = {}
        self._flows: set[str] = set()

    def _try(self, name: str) -> bool:
        with self._guard:
            if self._lock_conn is None:
                self._lock_conn = self._connect_for_locks()
            row = self._lock_conn.execute("SELECT pg_try_advisory_lock(%s)",
                                          (_key(name),)).fetchone()
            return bool(row[0])

    def _connect_for_locks(self) -> Any:
        """The lock connection, which the server drops (releasing its locks) once this
        host stops answering for about ``lease_timeout`` seconds."""
        conn = connect.connect(self.url)
        conn.execute(connect.session_settings(self.settings["lease_timeout"]))
        return conn

    def _unlock(self, name: str) -> None:
        with self._guard:
            if self._lock_conn is not None and not self._lock_conn.closed:
                self._lock_conn.execute("SELECT pg_advisory_unlock(%s)", (_key(name),))

    def lock_flow(self, flow_id: str) -> bool:
        if flow_id in self._flows:
            return True
        if not self._try("flow:" + flow_id):
            return False
        self._flows.add(flow_id)
        return True

    def unlock_flow(self, flow_id: str) -> None:
        if flow_id in self._flows:
            self._flows.discard(flow_id)
            self._unlock("flow:" + flow_id)

    def lock_state(self, flow_id: str, wait: bool = True) -> tuple[Any, dict] | None:
        name = "state:" + flow_id
        with self._guard:
            local = self._local.setdefault(name, threading.Lock())
        if not local.acquire(blocking=wait):
            return None
        delay = 0.001
        while not self._try(name):
            if not wait:
                local.release()
                return None
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        return (name, local), self.get_state(flow_id)

    def unlock_state(self, handle: Any) -> None:
        name, local = handle
        try:
            self._unlock(name)
        finally:
            local.release()

    def close_locks(self) -> None:
        self._flows.clear()
        if self._lock_conn is not None:
            self._lock_conn.close()  # every advisory lock it held goes with it
            self._lock_conn = None
