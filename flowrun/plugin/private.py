"""Files and folders only their owner can read: what the store writes is private from the
first run on, whatever the umask (API.md section 6)."""
from __future__ import annotations

import os


def write_all(fd: int, blob: bytes) -> None:
    view = memoryview(blob)
    while view:
        view = view[os.write(fd, view):]


def make_private_dir(path: str) -> None:
    """Create ``path`` and every missing folder above it readable by the owner only
    (``os.makedirs`` gives ``mode`` to the last folder alone; the rest follow the umask)."""
    if not path or os.path.isdir(path):
        return
    make_private_dir(os.path.dirname(os.path.abspath(path)))
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        return
    os.chmod(path, 0o700)  # the umask may have taken more than group and other bits


def create_private_file(path: str) -> None:
    """Create the database file 0600 before SQLite opens it: SQLite gives its ``-wal``
    and ``-shm`` files the database file's mode, so they are private from the start."""
    if not os.path.exists(path):
        os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
    for suffix in ("", "-wal", "-shm"):  # an older store made under a looser umask
        try:
            os.chmod(path + suffix, 0o600)
        except FileNotFoundError:
            pass
