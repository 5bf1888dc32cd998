"""Paused flows in the SQLite store (the optional ``PauseStore`` interface): a row per
paused flow, so ``--due`` on every host sharing the store skips it."""
from __future__ import annotations

import time
from typing import Any, Callable


class Pausing:
    """Mixed into ``SqliteStorage`` (its ``conn`` and ``_transaction``)."""

    conn: Any
    _transaction: Callable[[], Any]

    def pause_flow(self, flow_id: str, paused: bool = True, now: float | None = None
                   ) -> None:
        """Pause (or resume) the flow's schedule; pausing a paused flow keeps its time."""
        with self._transaction():
            if paused:
                self.conn.execute("INSERT OR IGNORE INTO paused (flow, since) VALUES (?, ?)",
                                  (flow_id, time.time() if now is None else now))
            else:
                self.conn.execute("DELETE FROM paused WHERE flow=?", (flow_id,))

    def paused_flows(self) -> dict[str, float]:
        """Paused flow id -> when it was paused (epoch seconds)."""
        return dict(self.conn.execute("SELECT flow, since FROM paused"))
