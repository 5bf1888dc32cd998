"""What became of a scheduled flow's recent slots, and when it fires next: the rows of
``flowrun schedule --json`` that the UI's schedules page shows.

A slot the store recorded has its run's outcome (``skipped`` when ``overlap="skip"``
passed it over, ``missed`` when ``catchup="none"`` found it too late); a cron time
since the flow's first recorded slot that no ``--due`` claimed is ``missed`` once
``MISSED_AFTER`` has passed (``due`` before that; ``paused`` while the flow is paused).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from flowrun.plugin import PauseStore, SlotStore

#: An unclaimed slot this old is missed (cron runs ``--due`` every minute).
MISSED_AFTER = 15 * 60.0
SLOTS = 10


def iso(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, timezone.utc).isoformat()


def paused_since(storage: Any, flow_id: str) -> float | None:
    return storage.paused_flows().get(flow_id) if isinstance(storage, PauseStore) else None


def slot_rows(storage: Any, flow: Any, cron: Any, now: float, paused: float | None,
              count: int = SLOTS) -> list[dict[str, Any]]:
    """The newest ``count`` slots, newest first: ``time``, ``outcome``, ``run_id``."""
    recorded = dict(storage.slot_history(flow.id)) if isinstance(storage, SlotStore) else {}
    if not recorded:
        return []
    first = min(recorded)
    times = {t for t in cron.before(now, count) if t >= first}
    times |= set(sorted(recorded)[-count:])
    runs = {}
    for run in storage.list_runs(flow=flow.id, limit=20 * count):
        if run.scheduled_for is not None:
            runs.setdefault(run.scheduled_for, run.id)
    return [{"time": iso(t), "outcome": _outcome(flow, recorded.get(t), t, now, paused),
             "run_id": runs.get(t)} for t in sorted(times, reverse=True)[:count]]


def _outcome(flow: Any, status: str | None, slot: float, now: float,
             paused: float | None) -> str:
    if status == "skipped":
        return "missed" if flow.catchup == "none" else "skipped"
    if status is not None:
        return status
    if paused is not None and slot >= paused:
        return "paused"
    return "missed" if now - slot > MISSED_AFTER else "due"
