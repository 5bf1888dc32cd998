"""Stop signals as events: the engine's loop handles them between updates, never
mid-update. Ctrl-C, SIGTERM and SIGHUP all stop a run the same way (API section 5), so
``docker stop``, systemd and a closed terminal leave a run recorded ``interrupted``."""
from __future__ import annotations

import signal
import threading
from typing import Callable

from flowrun.engine.events import Interrupt

STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")


def signals_as_events(put: Callable[[Interrupt], None]) -> Callable[[], None]:
    """Until the returned function is called, each stop signal calls ``put(Interrupt)``
    instead of its usual action (outside the main thread: nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def on_signal(signum: int, frame: object) -> None:
        put(Interrupt(signal.Signals(signum).name))  # SimpleQueue.put is signal-safe

    previous = {name: signal.signal(getattr(signal, name), on_signal)
                for name in STOP_SIGNALS if hasattr(signal, name)}

    def restore() -> None:
        for name, handler in previous.items():
            signal.signal(getattr(signal, name), handler)

    return restore
