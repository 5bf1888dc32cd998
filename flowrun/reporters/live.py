"""The live line on a terminal: which tasks run now and for how long, redrawn on a timer.

A daemon thread redraws it about every half second while tasks run, so a long task's
clock keeps moving and a task that started between two redraws still shows. Every
write to the terminal goes through ``lock``: the scheduler thread prints lines, this
thread only rewrites the last one.
"""
from __future__ import annotations

import threading
import time
from typing import Callable, TextIO

REDRAW_EVERY = 0.5  # seconds
SHOWN = 3           # tasks named; the rest are counted


class LiveLine:
    def __init__(self, out: TextIO, width: int, counts: Callable[[], tuple[int, int]]) -> None:
        self.out, self.width, self.counts = out, width, counts
        self.lock = threading.RLock()
        self.running: dict[str, float] = {}  # task id -> when it started
        self.shown = False
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None

    def started(self, task_id: str) -> None:
        with self.lock:
            self.running[task_id] = time.time()
        if self.thread is None:
            self.thread = threading.Thread(target=self._redraw_loop, daemon=True,
                                           name="flowrun-live-line")
            self.thread.start()

    def finished(self, task_id: str) -> None:
        with self.lock:
            self.running.pop(task_id, None)

    def _redraw_loop(self) -> None:
        while not self.stopped.wait(REDRAW_EVERY):
            self.draw()

    def draw(self) -> None:
        with self.lock:
            if self.stopped.is_set() or not self.running:
                return
            now = time.time()
            oldest = sorted(self.running.items(), key=lambda item: item[1])
            names = ", ".join(f"{task_id.rpartition('::')[2]} {now - since:.1f}s"
                              for task_id, since in oldest[:SHOWN])
            more = f" +{len(oldest) - SHOWN} more" if len(oldest) > SHOWN else ""
            done, total = self.counts()
            line = f"[{done}/{total}] running: {names}{more}"
            try:
                self.out.write("\r" + line[: self.width - 1] + "\x1b[K")
                self.out.flush()
            except (OSError, ValueError):  # the terminal went away
                self.stopped.set()
                return
            self.shown = True

    def clear(self) -> None:
        """Before a line is printed: wipe the live line (call with ``lock`` held)."""
        if self.shown:
            self.out.write("\r\x1b[K")
            self.shown = False

    def stop(self) -> None:
        self.stopped.set()
        with self.lock:
            self.clear()
