"""Private folders and files for the SQLite store and its result files."""
from __future__ import annotations

import hashlib
import os
import socket
import threading
import time


def _write_all(fd: int, blob: bytes) -> None:
    view = memoryview(blob)
    while view:
        view = view[os.write(fd, view):]


def _make_private_dir(path: str) -> None:
    """Create ``path`` and every missing folder above it readable by the owner only
    (``os.makedirs`` gives ``mode`` to the last folder alone; the rest follow the umask)."""
    if not path or os.path.isdir(path):
        return
    _make_private_dir(os.path.dirname(os.path.abspath(path)))
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        return
    os.chmod(path, 0o700)  # the umask may have taken more than group and other bits


def _create_private_file(path: str) -> None:
    """Create the database file 0600 before SQLite opens it: SQLite gives its ``-wal``
    and ``-shm`` files the database file's mode, so they are private from the start."""
    if not os.path.exists(path):
        os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
    for suffix in ("", "-wal", "-shm"):  # an older store made under a looser umask
        try:
            os.chmod(path + suffix, 0o600)
        except FileNotFoundError:
            pass


def write_result_file(results_dir: str, blob: bytes) -> str:
    """Store a large result once, named by its content (the jumbo fields of the
    simpleflow seed); written and synced before the database refers to it."""
    digest = hashlib.blake2b(blob, digest_size=20).hexdigest()
    ref = f"{digest[:2]}/{digest[2:]}"
    target = os.path.join(results_dir, ref)
    if not os.path.exists(target):
        _make_private_dir(os.path.dirname(target))
        temp = f"{target}.{os.getpid()}.{threading.get_ident()}.tmp"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            _write_all(fd, blob)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, target)
    return ref


def take_flock(folder: str, key: str, wait: bool) -> int | None:
    """An exclusive ``flock`` on a file named after ``key`` in ``folder``: its file
    descriptor, or None if another holder has it and ``wait`` is False. Opened
    ``O_CLOEXEC`` so worker processes never inherit it; the kernel drops it when this
    process dies, and closing the descriptor releases it. Each call opens the file anew,
    so two holders in one process exclude each other too."""
    import fcntl

    _make_private_dir(folder)
    name = hashlib.blake2b(key.encode(), digest_size=12).hexdigest() + ".lock"
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
        time.sleep(delay)  # polled, so a waiting thread stays interruptible
        delay = min(delay * 2, 0.02)


def process_gone(pid: int | None, host: str | None) -> bool:
    """Whether the process that recorded a run is known to be gone: it ran on this host
    and no such process (or only its zombie) is left. Another host's runs: unknown."""
    if not pid or host != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, someone else's (a reused pid at worst)
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return False
