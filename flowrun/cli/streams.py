"""Keep what tasks start off the pipes flowrun was given.

A thread task's child process (``subprocess.Popen(["server"])``) inherits fds 1 and 2. When
those are pipes, whoever started flowrun (a CI job, ``$(flowrun ...)``, a test) waits for
their end, so a long-lived child would hold the run open after flowrun exited. So in the
command's process, fds 1 and 2 become pipes of flowrun's own, relayed to the real streams
by a background thread, while flowrun writes its report straight to private copies of the
real ones (``os.dup`` makes them non-inheritable): when flowrun exits, nothing but orphaned
children still holds a relay pipe, and the caller sees the end of its pipe at once.
A terminal, a file or /dev/null is left as it is: nobody waits for its end (and tasks
keep seeing a TTY), so no thread is started for it.
"""
from __future__ import annotations

import _thread
import io
import os
import stat
import sys


def keep_children_off_our_pipes() -> None:
    for fd, name in ((1, "stdout"), (2, "stderr")):
        stream = getattr(sys, name)
        try:
            if stream is None or stream.fileno() != fd or not _waited_for(fd):
                continue
        except (OSError, ValueError, io.UnsupportedOperation):
            continue
        real = os.dup(fd)  # non-inheritable: children never get it
        read_end, write_end = os.pipe()
        os.dup2(write_end, fd)  # what children inherit from now on
        os.close(write_end)
        # A bare thread: Thread.start() would wait for it to be scheduled (a context
        # switch each, at every start); it holds nothing the exit must wait for.
        _thread.start_new_thread(_relay, (read_end, real))
        stream.flush()
        ours = io.TextIOWrapper(io.FileIO(real, "w", closefd=True), encoding=stream.encoding,
                                errors=stream.errors, line_buffering=True, write_through=True)
        setattr(sys, name, ours)
        setattr(sys, f"__{name}__", ours)  # what --pdb and tracebacks write to, too


def _waited_for(fd: int) -> bool:
    """A pipe or socket: its reader waits for the end that children would hold."""
    mode = os.fstat(fd).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def _relay(read_end: int, real: int) -> None:
    while True:
        try:
            data = os.read(read_end, 65536)
            if not data:
                return
            while data:
                data = data[os.write(real, data):]
        except OSError:  # the reader of the real stream went away
            return
