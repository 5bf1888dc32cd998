"""Cron slots for ``flowrun --due`` on many hosts (the ``SlotStore`` half of the store).

A slot is its natural key, (flow, scheduled time): ``INSERT ... ON CONFLICT DO NOTHING``
claims it once across every host, whatever ids runs get. Each method is one short
transaction touching one table."""
from __future__ import annotations

from typing import Any


class SlotMethods:
    """Mixed into ``PostgresStorage``: ``execute`` and ``_write`` come from it."""

    execute: Any
    _write: Any

    def last_slots(self, flow_id: str | None = None) -> dict[str, tuple[float, str, Any]]:
        sql = ("SELECT DISTINCT ON (flow) flow, slot, status, busy_seen FROM flowrun_slots"
               + (" WHERE flow=%s" if flow_id else "") + " ORDER BY flow, slot DESC")
        rows = self.execute(sql, (flow_id,) if flow_id else ())
        return {flow: (slot, status, busy) for flow, slot, status, busy in rows}

    def slot_history(self, flow_id: str) -> list[tuple[float, str]]:
        rows = self.execute("SELECT slot, status FROM flowrun_slots WHERE flow=%s "
                            "ORDER BY slot", (flow_id,))
        return [(slot, status) for slot, status in rows]

    def claim_slots(self, flow_id: str, slots: list[float], skipped: list[float],
                    now: float) -> list[float]:
        """Record ``slots`` running and ``skipped`` skipped; return those this call
        inserted. Called holding the flow's lock: a slot still ``running`` belongs to a
        process that died, and becomes ``abandoned``."""
        claimed: list[float] = []

        def work(cur: Any) -> None:
            cur.execute("UPDATE flowrun_slots SET status='abandoned' WHERE flow=%s AND "
                        "status='running'", (flow_id,))
            for slot, status in [*((s, "running") for s in sorted(slots)),
                                 *((s, "skipped") for s in sorted(skipped))]:
                cur.execute("INSERT INTO flowrun_slots (flow, slot, status, claimed) "
                            "VALUES (%s, %s, %s, %s) ON CONFLICT (flow, slot) DO NOTHING "
                            "RETURNING slot", (flow_id, slot, status, now))
                if cur.fetchone() is not None and status == "running":
                    claimed.append(slot)
        self._write(work)
        return claimed

    def finish_slot(self, flow_id: str, slot: float, status: str, now: float) -> None:
        self._write(lambda cur: cur.execute(
            "UPDATE flowrun_slots SET status=%s, finished=%s WHERE flow=%s AND slot=%s",
            (status, now, flow_id, slot)))

    def note_busy(self, flow_id: str, slot: float) -> None:
        self._write(lambda cur: cur.execute(
            "UPDATE flowrun_slots SET busy_seen=GREATEST(COALESCE(busy_seen, 0), %s) "
            "WHERE flow=%s AND status='running'", (slot, flow_id)))
