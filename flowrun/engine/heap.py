"""The garbage collector during a run. A run's nodes, reports and tasks live until it
ends, so collections walking them again and again only cost time (a seventh of a
task's cost at a million tasks, most of it while the nodes were made). They are built
with the collector paused, since building makes no garbage, then frozen
(``gc.freeze()``) until the run ends; what a run creates and drops meanwhile is
collected as usual."""
from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


class KeptHeap:
    """``building()`` the run's objects, then ``release()`` them when it ends."""

    def __init__(self) -> None:
        self.frozen = False

    @contextmanager
    def building(self) -> Iterator[None]:
        enabled = gc.isenabled()
        gc.disable()
        try:
            yield
            # Objects frozen already belong to someone else's freeze, who undoes it.
            self.frozen = not gc.get_freeze_count()
            if self.frozen:
                gc.freeze()
        finally:
            if enabled:
                gc.enable()

    def release(self) -> None:
        if self.frozen:
            self.frozen = False
            gc.unfreeze()
