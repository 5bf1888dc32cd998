"""Paused schedules (the optional ``PauseStore`` interface): a row per paused flow in
the shared store, so ``flowrun --due`` on every host skips it."""
from __future__ import annotations

import time
from typing import Any


class PauseMethods:
    """Mixed into ``PostgresStorage`` (its ``execute``)."""

    execute: Any
    def pause_flow(self, flow_id: str, paused: bool = True, now: float | None = None
                   ) -> None:
        """Pause (or resume) the flow's schedule; pausing a paused flow keeps its time."""
        if paused:
            self.execute("INSERT INTO flowrun_paused (flow, since) VALUES (%s, %s) "
                         "ON CONFLICT (flow) DO NOTHING",
                         (flow_id, time.time() if now is None else now))
        else:
            self.execute("DELETE FROM flowrun_paused WHERE flow=%s", (flow_id,))

    def paused_flows(self) -> dict[str, float]:
        """Paused flow id -> when it was paused (epoch seconds)."""
        return dict(self.execute("SELECT flow, since FROM flowrun_paused"))
