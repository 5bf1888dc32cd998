"""``long_running``: a run still running past ``Flow(expected_duration=...)`` (or
``[tool.flowrun] expected_duration``). A timer per run of such a flow, cancelled when
the run ends; when it fires, the message goes through the outbox on a connection of
its own (the engine keeps its own), while the run goes on."""
from __future__ import annotations

import sys
import threading
import time
from typing import Any


class LongRunning:
    """The timers of the running runs, by run id."""

    def __init__(self, config: Any) -> None:
        self.config = config
        self.timers: dict[str, threading.Timer] = {}

    def start(self, run: Any, flow: Any, channels: list[Any]) -> None:
        seconds = expected_duration(flow, self.config.ini)
        if not seconds:
            return
        timer = threading.Timer(seconds, self._fire, (run, flow, channels))
        timer.daemon = True
        self.timers[run.id] = timer
        timer.start()

    def finish(self, run: Any) -> None:
        timer = self.timers.pop(run.id, None)
        if timer is not None:
            timer.cancel()

    def _fire(self, run: Any, flow: Any, channels: list[Any]) -> None:
        from flowrun.config import open_storage
        from flowrun.notify.outbox import deliver
        from flowrun.notify.payload import run_payload, with_text
        from flowrun.notify.plugin import queue, wait_seconds

        storage = None
        try:
            storage = open_storage(self.config)
            payload = run_payload("long_running", run, storage, self.config.ini.get("ui_url"))
            payload = with_text({**payload, "status": "running",
                                 "duration": round(time.time() - run.started, 3)})
            queue(self.config, storage, "long_running", payload, channels, flow)
            notes: list[str] = []
            deliver(storage, {c.key: c for c in channels}, wait_seconds(self.config),
                    self.config.rootdir, notes)
        except Exception as exc:  # a notification never changes a run's outcome
            print(f"flowrun: notifications: {type(exc).__name__}: {exc}", file=sys.stderr)
        finally:
            if storage is not None:
                storage.close()


def expected_duration(flow: Any, ini: dict[str, Any]) -> float | None:
    """Seconds from ``Flow(expected_duration=)``, else the config's; None: no limit."""
    from flowrun.config_keys import parse_duration

    for value in (getattr(flow, "expected_duration", None), ini.get("expected_duration")):
        if value is not None:
            return parse_duration(value)
    return None
