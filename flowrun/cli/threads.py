"""Threads a flow leaves running must not keep the ``flowrun`` command alive.

Python waits for every non-daemon thread before it exits, so one started by a flow
module (or a task) that never ends would hang the command, and cron with it. At the
exit boundary a daemon watchdog gives such threads a moment to end as usual; then it
names the file that left each one, flushes the output and exits with the command's own
exit code.
"""
from __future__ import annotations

import os
import sys
import threading
from typing import Any

#: Seconds left-over threads get to end on their own before flowrun exits anyway.
GRACE = 1.0
#: The attribute collection sets on a thread a flow module started while imported.
STARTED_BY = "flowrun_started_by"


def lingering() -> list[threading.Thread]:
    """Non-daemon threads besides the main one that are still running."""
    main = threading.main_thread()
    return [t for t in threading.enumerate() if t is not main and not t.daemon
            and t.is_alive()]


def exit_despite_threads(code: int) -> None:
    """Start the watchdog if some thread would keep the process alive (else nothing)."""
    if lingering():
        threading.Thread(target=_watch, args=(code,), daemon=True,
                         name="flowrun-exit-watchdog").start()


def _watch(code: int) -> None:
    threading.Event().wait(GRACE)
    left = lingering()
    if not left:
        return
    for origin, names in _by_origin(left).items():
        print(f"WARNING: {origin} left a thread running ({', '.join(names)}); flowrun "
              "exits without waiting for it: join it or make it a daemon thread",
              file=sys.stderr)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def _by_origin(threads: list[threading.Thread]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for thread in threads:
        found.setdefault(origin(thread), []).append(thread.name)
    return found


def origin(thread: threading.Thread) -> str:
    """The file that started ``thread``, as far as can be told: the flow module that
    was being imported, else the file of the function it runs."""
    marked = getattr(thread, STARTED_BY, None)
    if isinstance(marked, str):
        return marked
    target: Any = getattr(thread, "_target", None) or type(thread).run
    code = getattr(getattr(target, "__func__", target), "__code__", None)
    if code is not None:
        return os.path.relpath(code.co_filename)
    name = getattr(target, "__qualname__", None) or type(target).__name__
    module = getattr(target, "__module__", None)
    return f"a task or plugin (running {module}.{name})" if module else \
        f"a task or plugin (running {name})"
