"""Flow locks (``--due``) and ``context.state`` locks: PostgreSQL advisory locks held
by one connection of their own, so they die with the process (its connection closes).

Session-level advisory locks are re-entrant within a connection, so threads of this
process are first kept apart by a ``threading.Lock`` per name; waiting polls with
``pg_try_advisory_lock``, so a waiting thread stays interruptible and never holds the
shared connection while it waits. A host that vanishes without closing its connection
(power loss, a network cut) or whose process hangs is dropped by the server within about
``lease_timeout``, and its locks with it (``_connect_for_locks``)."""
from __future__ import annotations

import struct
import threading
import time
from typing import Any

from flowrun.plugin import StoreError, blake2b, redact_url
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
        self._locks_closed = threading.Event()
        self._pinging = False

    def _try(self, name: str) -> bool:
        with self._guard:
            return bool(self._on_lock_conn("SELECT pg_try_advisory_lock(%s)", (_key(name),)))

    def _unlock(self, name: str) -> None:
        with self._guard:
            if self._lock_conn is not None:  # else the server dropped it, and the lock
                self._on_lock_conn("SELECT pg_advisory_unlock(%s)", (_key(name),),
                                   again=False)

    def _on_lock_conn(self, sql: str, args: tuple = (), again: bool = True) -> Any:
        """One statement's value on the lock connection (made when needed). A
        connection the server dropped took its locks with it: it is made again
        (``again``) or forgotten."""
        import psycopg

        failed = None
        for _ in range(2 if again else 1):
            if self._lock_conn is None:
                self._lock_conn = self._connect_for_locks()
            try:
                return self._lock_conn.execute(sql, args).fetchone()[0]
            except psycopg.OperationalError as exc:
                self._lock_conn.close()
                self._lock_conn, failed = None, exc
        if again:
            raise StoreError(f"cannot reach the store {redact_url(self.url)}: "
                             f"{connect.clean_message(failed, self.url)}")
        return None

    def _connect_for_locks(self) -> Any:
        """The lock connection. The server drops it, and its locks with it, once this
        host stops answering for about ``lease_timeout`` seconds: TCP keepalives for a
        lost host, and for a hung process (whose machine still answers them) the
        session's ``idle_session_timeout``, which this process's pings keep from
        firing while it lives."""
        import psycopg

        conn = connect.connect(self.url)
        timeout = self.settings["lease_timeout"]
        conn.execute(connect.session_settings(timeout))
        try:
            conn.execute(f"SET idle_session_timeout = {max(1000, int(timeout * 1000))}")
        except psycopg.errors.UndefinedObject:
            pass  # before PostgreSQL 14: the locks of a hung process wait for its end
        if not self._pinging:
            self._pinging = True
            threading.Thread(target=self._ping_locks, daemon=True,
                             name="flowrun-locks").start()
        return conn

    def _ping_locks(self) -> None:
        """Keep the lock connection from being idle for ``lease_timeout``."""
        while not self._locks_closed.wait(self.settings["lease_interval"]):
            with self._guard:
                if self._lock_conn is not None:
                    self._on_lock_conn("SELECT 1", again=False)

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
        self._locks_closed.set()
        self._flows.clear()
        with self._guard:
            if self._lock_conn is not None:
                self._lock_conn.close()  # every advisory lock it held goes with it
                self._lock_conn = None
