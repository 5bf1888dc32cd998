"""``LogSearchSemantics``: the optional ``LogSearchStore`` part of the storage contract,
mixed into ``StorageSuite``."""
from __future__ import annotations

import pytest

from flowrun.plugin import RUNNING, SUCCEEDED, LogSearchStore, Report, Run


def _run(run_id: str, started: float, flow_id: str = "flows/flow_a.py") -> Run:
    return Run(id=run_id, flow_id=flow_id, status=RUNNING, started=started)


def _report(run: Run, name: str, **output: str) -> Report:
    return Report(run_id=run.id, flow_id=run.flow_id, task_id=f"{run.flow_id}::{name}",
                  status=SUCCEEDED, attempt=1, **output)


class LogSearchSemantics:
    """``LogSearchStore.search_logs``, for a store that has it (else skipped)."""

    def test_search_logs_finds_lines_of_every_run_by_flow_newest_first(self, store, reader):
        if not isinstance(store, LogSearchStore):
            pytest.skip("the store has no search_logs (LogSearchStore is optional)")
        first = _run("r00000000001", 1_700_000_000.0)
        other = _run("r00000000002", 1_700_000_001.0, "flows/flow_b.py")
        for run in (first, other):
            store.run_started(run)
            store.record(_report(run, "a", stdout="starting\norders.csv missing\n",
                                     log="WARNING shop: Orders.CSV missing again"))
        store.flush()
        hits = reader().search_logs("orders.csv missing")
        assert {(h.run_id, h.stream, h.line_number) for h in hits} == {
            (first.id, "stdout", 2), (first.id, "log", 1), (other.id, "stdout", 2),
            (other.id, "log", 1)}
        assert hits[0].run_id == other.id and hits[0].task_id == "flows/flow_b.py::a"
        assert [h.run_id for h in reader().search_logs("missing", flow=first.flow_id)] == [
            first.id, first.id]
        later = _run("r00000000003", 1_700_000_002.0)
        store.run_started(later)
        store.record(_report(later, "b", stderr="orders.csv missing at last"))
        store.flush()
        assert reader().search_logs("missing", limit=1)[0].run_id == later.id
        assert reader().search_logs("nothing like this") == []
