"""What running attempts have printed so far, stored every second while they run, so
a live view (``flowrun ui``) shows the tail of a running task's output (a collaborator
the engine owns). Only executors that can say (``Executor.output_so_far``: the thread
executor) arm it; an attempt whose output did not change is not written again."""
from __future__ import annotations

import copy
import time
from typing import Any, Callable

from flowrun.engine.events import OutputTimer, Timers

EVERY = 1.0  # seconds between looks


class LiveOutput:
    def __init__(self, timers: Timers, inflight: dict[object, Any],
                 handles: dict[object, tuple[Any, Any]], record: Callable[[Any], None]
                 ) -> None:
        self.timers, self.inflight, self.handles, self.record = timers, inflight, handles, record
        self.armed = False
        self.sizes: dict[object, int] = {}  # attempt token -> characters stored so far

    def arm(self) -> None:
        """Look in ``EVERY`` seconds (an attempt that can say what it printed started)."""
        if not self.armed:
            self.armed = True
            self.timers.add(OutputTimer(time.monotonic() + EVERY))

    def fire(self) -> None:
        """Store the output so far of every running attempt whose output grew (called
        by the loop, holding its lock: a token in ``inflight`` has not finished)."""
        self.armed = False
        sizes: dict[object, int] = {}
        for token, (declared, handle) in list(self.handles.items()):
            node = self.inflight.get(token)
            if declared.so_far is None or node is None:
                continue
            texts = declared.so_far(handle)
            size = sum(map(len, texts)) if texts else 0
            sizes[token] = size
            if size != self.sizes.get(token, 0):
                report = copy.copy(node.report)  # the node's own one changes at its end
                report.stdout, report.stderr, report.log = texts
                self.record(report)
        self.sizes = sizes
        if sizes:
            self.arm()
