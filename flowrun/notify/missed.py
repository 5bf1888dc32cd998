"""Missed cron slots, noticed by ``flowrun --due``: a slot that did not start
``missed_after`` (default 15 minutes) after its time, because no ``--due`` ran, the flow
was busy, catch-up skipped it, or this ``--due`` starts it late. The store notes each
slot once (``note_missed``, on any host), so it is one message even if it then runs."""
from __future__ import annotations

from typing import Any, Iterator

#: Minutes a slot may start late before it counts as missed.
DEFAULT_MISSED_AFTER = 15 * 60.0
#: How far back a ``--due`` looks for slots nobody started (older ones were noticed by
#: an earlier ``--due``, or are too old to be worth a message).
LOOK_BACK = 86400.0
#: The newest slots of that window looked at, at most (a minutely flow down for a day).
MOST = 50


def missed_after(flow: Any, ini: dict[str, Any]) -> float:
    """``Flow(missed_after=)``, else ``[tool.flowrun] missed_after``, else 15 minutes."""
    from flowrun.config_keys import parse_duration

    for value in (getattr(flow, "missed_after", None), ini.get("missed_after")):
        if value is not None:
            return float(parse_duration(value) or DEFAULT_MISSED_AFTER)
    return DEFAULT_MISSED_AFTER


def newest_slots(storage: Any) -> dict[str, float]:
    """flow id -> its newest recorded cron slot, read before ``--due`` claims any (one
    query for all flows, the one ``--due`` itself starts with)."""
    from flowrun.plugin import SlotStore

    if not isinstance(storage, SlotStore) or not hasattr(storage, "note_missed"):
        return {}
    return {flow: row[0] for flow, row in storage.last_slots().items()}


def newly_missed(session: Any, storage: Any, before: dict[str, float],
                 ini: dict[str, Any]) -> Iterator[tuple[Any, float, float]]:
    """(flow, slot, seconds late) for each slot first found missed: a slot after the
    flow's newest one ``before`` this ``--due`` and at least ``missed_after`` old did
    not start in time, whether this ``--due`` skipped it or starts it late. The store
    notes it (``note_missed``), so it is never yielded again, on any host. A flow that
    no ``--due`` ran before has missed nothing."""
    from flowrun.schedules import cron as schedule
    from flowrun.schedules.due import now as due_now

    now = due_now()
    for flow in session.flows:
        if flow.schedule is None or flow.id not in before:
            continue
        late = missed_after(flow, ini)
        cron = schedule.Schedule(flow.schedule, schedule.zone(flow.timezone))
        since = max(before[flow.id], now - late - LOOK_BACK)
        for slot in cron.after(since, now - late)[-MOST:]:
            if storage.note_missed(flow.id, slot, now):
                yield flow, slot, now - slot
