"""The optional ``LimitStore`` part of ``StorageSuite``: concurrency ``limits`` counted in
the store, so a group's slots are shared by every run on every host. Skipped for a store
that does not implement it (each run then counts its own)."""
from __future__ import annotations

import time
from typing import Any

import pytest

from flowrun.plugin import SUCCEEDED, LeaseStore, LimitStore, Run, StoreError

FLOW = "flows/flow_db.py"


def _run(run_id: str) -> Run:
    return Run(id=run_id, flow_id=FLOW, started=time.time(), host="host-a")


class LimitStoreSemantics:
    """A group never has more slots taken than its size, across stores; all or none."""

    persistent: bool

    @pytest.fixture
    def limit_store(self, store: Any) -> Any:
        if not isinstance(store, LimitStore) or not self.persistent:
            pytest.skip("the store does not implement LimitStore (limits per run)")
        return store

    def test_a_groups_slots_are_shared_by_every_store(self, limit_store, reader):
        other = reader()
        assert limit_store.take_limits("r00000000001", {"db": 2})
        assert other.take_limits("r00000000002", {"db": 2})
        assert not other.take_limits("r00000000002", {"db": 2})
        assert not limit_store.take_limits("r00000000001", {"db": 2})
        limit_store.give_limits("r00000000001", ("db",))
        assert other.take_limits("r00000000002", {"db": 2})

    def test_slots_are_taken_in_every_group_or_in_none(self, limit_store, reader):
        assert limit_store.take_limits("r00000000001", {"db": 1})
        assert not reader().take_limits("r00000000002", {"api": 1, "db": 1})
        assert reader().take_limits("r00000000002", {"api": 1})  # api was left free

    def test_a_finished_run_gives_its_slots_back(self, limit_store, reader):
        run = _run("r00000000001")
        limit_store.run_started(run)
        assert limit_store.take_limits(run.id, {"db": 1})
        run.status, run.finished = SUCCEEDED, time.time()
        limit_store.run_finished(run)
        assert reader().take_limits("r00000000002", {"db": 1})

    def test_a_run_whose_lease_lapsed_gives_its_slots_back(self, limit_store, reader):
        if not isinstance(limit_store, LeaseStore):
            pytest.skip("the store does not implement LeaseStore")
        limit_store.run_started(_run("r00000000001"))
        assert limit_store.take_limits("r00000000001", {"db": 1})
        other = reader()
        other.lease_timeout = 0.3
        time.sleep(0.5)
        assert other.expire_leases() == ["r00000000001"]
        assert other.take_limits("r00000000002", {"db": 1})
        with pytest.raises(StoreError):  # the old holder takes no more
            limit_store.take_limits("r00000000001", {"api": 1})
        assert reader().take_limits("r00000000003", {"api": 1})
