"""The hosts and leases part of ``StorageSuite``: every store records a run's host; a
store that implements ``LeaseStore`` (one shared by several hosts) interrupts a run whose
lease lapsed, keeps its cron slot taken and refuses the old holder's later writes."""
from __future__ import annotations

import time
from typing import Any

import pytest

from flowrun.plugin import INTERRUPTED, LeaseStore, Report, Run, SlotStore, StoreError

FLOW = "flows/flow_a.py"


def _run(run_id: str, **fields: Any) -> Run:
    return Run(id=run_id, flow_id=FLOW, started=time.time(), host="host-a", **fields)


class LeaseStoreSemantics:
    persistent: bool

    def test_a_run_records_its_host(self, store, reader):
        store.run_started(_run("r00000000001"))
        assert reader().get_run("r00000000001").host == "host-a"

    @pytest.fixture
    def lapse(self, store: Any, reader: Any) -> Any:
        """``lapse(run)``: starts ``run`` on ``store``, lets its lease lapse as a second
        store sees it, and returns that second store after it expired the lease."""
        if not isinstance(store, LeaseStore) or not self.persistent:
            pytest.skip("the store does not implement LeaseStore (one host only)")

        def lapse(run: Run) -> Any:
            store.run_started(run)
            other = reader()
            other.lease_timeout = 0.3
            time.sleep(0.5)
            assert other.expire_leases() == [run.id]
            return other
        return lapse

    def test_a_run_whose_lease_lapsed_is_interrupted_naming_its_host(self, lapse):
        other = lapse(_run("r00000000001"))
        got = other.get_run("r00000000001")
        assert got.status == INTERRUPTED
        assert got.reason.startswith("host host-a stopped renewing at ")
        assert other.expire_leases() == []

    def test_a_lapsed_runs_slot_stays_taken(self, store, lapse):
        if not isinstance(store, SlotStore):
            pytest.skip("the store does not implement SlotStore")
        assert store.claim_slots(FLOW, [3600.0], [], now=3600.0) == [3600.0]
        other = lapse(_run("r00000000001", scheduled_for=3600.0))
        assert other.claim_slots(FLOW, [3600.0], [], now=7200.0) == []
        assert dict(other.slot_history(FLOW))[3600.0] != "running"

    def test_the_old_holder_cannot_write_after_its_lease_was_taken(self, store, lapse):
        other = lapse(_run("r00000000001"))
        store.record(Report(run_id="r00000000001", flow_id=FLOW, task_id=FLOW + "::a",
                            status="succeeded", attempt=1))
        with pytest.raises(StoreError):
            store.flush()
        assert other.attempts("r00000000001") == []
