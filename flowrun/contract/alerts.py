"""The optional ``OutboxStore``, ``MetricsStore`` and ``TraceStore`` parts of
``StorageSuite``: the notifications' outbox, missed slots, the aggregates of ``flowrun
metrics`` and runs' trace ids. Skipped for a store that does not implement them."""
from __future__ import annotations

from typing import Any

import pytest

from flowrun.plugin import (
    FAILED,
    SUCCEEDED,
    MetricsStore,
    OutboxStore,
    Report,
    Run,
    TraceStore,
)

FLOW = "flows/flow_a.py"


def message(key: str, **fields: Any) -> dict[str, Any]:
    return {"key": key, "channel": "c1", "label": "json://host/hook", "event": "failed",
            "flow": FLOW, "run_id": "r1", "payload": "{}", "created": 100.0,
            "status": "pending", "next_try": 100.0, **fields}


class AlertStoreSemantics:
    """A message is added once per key; due messages come oldest first; every try is
    counted; rate limiting sees the newest message that was not suppressed; a missed
    slot is noted once; metrics aggregate runs and attempts."""

    @pytest.fixture
    def outbox(self, store: Any) -> Any:
        if not isinstance(store, OutboxStore):
            pytest.skip("the store does not implement OutboxStore (no notifications)")
        return store

    @pytest.fixture
    def metrics_store(self, store: Any) -> Any:
        if not isinstance(store, MetricsStore):
            pytest.skip("the store does not implement MetricsStore (no flowrun metrics)")
        return store

    def test_a_message_is_added_once_per_key(self, outbox, reader):
        assert outbox.outbox_add(message("k1")) is True
        assert outbox.outbox_add(message("k1", created=200.0)) is False
        assert [m["key"] for m in reader().outbox_log()] == ["k1"]

    def test_due_messages_come_oldest_first_and_tries_are_counted(self, outbox, reader):
        outbox.outbox_add(message("late", next_try=300.0))
        outbox.outbox_add(message("early", next_try=150.0))
        assert [m["key"] for m in outbox.outbox_due(now=200.0)] == ["early"]
        first = outbox.outbox_due(now=400.0)[0]
        outbox.outbox_update(first["id"], "pending", 500.0, "HTTP 500", now=400.0)
        outbox.outbox_update(first["id"], "sent", None, None, now=500.0)
        got = {m["key"]: m for m in reader().outbox_log()}["early"]
        assert (got["status"], got["tries"], got["failures"], got["last_try"]) == (
            "sent", 2, 1, 500.0)
        assert [m["key"] for m in reader().outbox_due(now=1e12)] == ["late"]

    def test_a_due_message_is_claimed_by_one_taker(self, outbox, reader):
        outbox.outbox_add(message("k", next_try=100.0))
        [due] = outbox.outbox_due(now=200.0)
        assert outbox.outbox_claim(due["id"], now=200.0, lease=60.0) is True
        assert reader().outbox_claim(due["id"], now=201.0, lease=60.0) is False
        assert outbox.outbox_due(now=250.0) == []
        assert [m["key"] for m in reader().outbox_due(now=260.0)] == ["k"]  # lease over

    def test_rate_limiting_sees_the_newest_message_not_suppressed(self, outbox):
        outbox.outbox_add(message("a", created=100.0))
        outbox.outbox_add(message("b", created=200.0, status="suppressed"))
        assert outbox.outbox_last("c1", FLOW, "failed") == 100.0
        assert outbox.outbox_last("c1", FLOW, "recovered") is None

    def test_a_missed_slot_is_noted_once(self, outbox, reader):
        assert outbox.note_missed(FLOW, 3600.0, now=5000.0) is True
        assert reader().note_missed(FLOW, 3600.0, now=6000.0) is False

    def test_metrics_aggregate_runs_and_attempts(self, metrics_store, reader):
        store = metrics_store
        for number, status in enumerate((SUCCEEDED, FAILED, SUCCEEDED)):
            run = Run(id=f"r{number}", flow_id=FLOW, started=10.0 * number)
            store.run_started(run)
            for index in range(2):
                store.record(Report(run_id=run.id, flow_id=FLOW, attempt=1,
                                    task_id=f"{FLOW}::each[{index}]", status=status,
                                    started=run.started, finished=run.started + 0.5))
            run.status, run.finished = status, run.started + 2.0
            store.run_finished(run)
        figures = reader().metrics((1.0, 5.0))
        assert figures["runs"] == {(FLOW, SUCCEEDED): 2, (FLOW, FAILED): 1}
        assert figures["run_durations"][FLOW] == ([0, 3, 0], 6.0)
        assert figures["task_durations"][(FLOW, "each")] == ([6, 0, 0], 3.0)
        assert figures["last_success"] == {FLOW: 22.0}
        assert figures["running"] == 0 and figures["notifications_failed"] == 0

    def test_a_runs_trace_id_is_kept(self, store, reader):
        if not isinstance(store, TraceStore):
            pytest.skip("the store does not implement TraceStore (no trace ids)")
        run = Run(id="traced", flow_id=FLOW, started=1.0)
        store.run_started(run)
        store.record_trace(run.id, "0af7651916cd43dd8448eb211c80319c")
        assert reader().trace_id(run.id) == "0af7651916cd43dd8448eb211c80319c"
        assert reader().trace_id("nosuchrun") is None
