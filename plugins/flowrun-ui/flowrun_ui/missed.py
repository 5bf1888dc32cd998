"""Missed cron slots, noticed while ``flowrun ui`` runs: at its start and every minute
it runs ``flowrun notify missed`` in the project (on the UI's store), so a slot nobody
started is reported even when cron itself is down. Free for a store where no ``--due``
ever claimed a slot (nothing can be missed there)."""
from __future__ import annotations

import logging
import threading
from typing import Any

from flowrun.plugin import SlotStore

from flowrun_ui.catalog import run_flowrun

log = logging.getLogger("flowrun_ui")
EVERY = 60.0


class MissedWatch:
    def __init__(self, state: Any, every: float = EVERY) -> None:
        self.state, self.every = state, every
        self.stopping = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._loop, name="flowrun-ui-missed", daemon=True).start()

    def stop(self) -> None:
        self.stopping.set()

    def _loop(self) -> None:
        while not self.stopping.is_set():
            self.check()
            self.stopping.wait(self.every)

    def check(self) -> None:
        try:
            store = self.state.open_store()
            try:
                scheduled = isinstance(store, SlotStore) and bool(store.last_slots())
            finally:
                store.close()
            if scheduled:
                run_flowrun(self.state, ["notify", "missed"], timeout=120)
        except Exception as exc:  # noqa: BLE001 - a check that failed is tried again
            log.warning("checking for missed cron slots: %s", exc)
