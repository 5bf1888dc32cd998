"""The SQLite store's state locks (``StateLockStore``): one ``flock`` per flow beside the
database, so ``context.state`` read-modify-write never interleaves across processes
(and threads: every holder opens the file anew, and flocks of two open files exclude
each other even in one process). ``memory:`` stores use a ``threading.Lock`` per flow."""
from __future__ import annotations

import os
import sqlite3
import threading
import time
from typing import Any

from flowrun.plugin import blake2b
from flowrun.plugin.private import make_private_dir

_memory_locks: dict[tuple[int, str], threading.Lock] = {}
_guard = threading.Lock()


def lock_state(store: Any, flow_id: str, wait: bool) -> tuple[Any, dict] | None:
    """(handle, the flow's state as stored now) or None when busy and not ``wait``; the
    state is read on a connection of its own, as the caller may be a task's thread."""
    if store.results_dir is None:
        with _guard:
            lock = _memory_locks.setdefault((id(store), flow_id), threading.Lock())
        if not lock.acquire(blocking=wait):
            return None
        with _guard:
            return lock, store.get_state(flow_id)
    folder = os.path.join(os.path.dirname(store.results_dir), "locks")
    fd = take_flock(folder, "state:" + flow_id, wait)
    if fd is None:
        return None
    reader = sqlite3.connect(store.path, timeout=30.0)
    try:
        rows = reader.execute("SELECT key, value, format FROM state WHERE flow=?",
                              (flow_id,)).fetchall()
    finally:
        reader.close()
    return fd, {key: (value, fmt) for key, value, fmt in rows}


def unlock_state(handle: Any) -> None:
    if isinstance(handle, int):
        os.close(handle)  # closing the descriptor releases its flock
    else:
        handle.release()


def take_flock(folder: str, key: str, wait: bool) -> int | None:
    """An exclusive ``flock`` on a file named after ``key``: its descriptor, or None if
    it is held and not ``wait``. ``O_CLOEXEC``, so workers never inherit it; the kernel
    drops it when this process dies. Waiting polls, so a waiting thread stays
    interruptible."""
    import fcntl

    make_private_dir(folder)
    name = blake2b(key.encode(), digest_size=12).hexdigest() + ".lock"
    fd = os.open(os.path.join(folder, name), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    delay = 0.001
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except OSError:
            if not wait:
                os.close(fd)
                return None
        time.sleep(delay)
        delay = min(delay * 2, 0.02)
