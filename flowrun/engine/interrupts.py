"""Ctrl-C as an event: the engine's loop handles it between updates, never mid-update."""
from __future__ import annotations

import signal
import threading
from typing import Any, Callable


def sigint_as_event(put: Callable[[Any], None], event: Any) -> Callable[[], None]:
    """Until the returned function is called, SIGINT calls ``put(event)`` instead of
    raising KeyboardInterrupt (outside the main thread: nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def on_sigint(signum: int, frame: Any) -> None:
        put(event)  # SimpleQueue.put is safe to call from a signal handler

    previous = signal.signal(signal.SIGINT, on_sigint)
    return lambda: signal.signal(signal.SIGINT, previous)
