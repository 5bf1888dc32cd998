"""The optional ``SlotStore`` part of ``StorageSuite``: cron slots and flow locks, the
store's half of ``flowrun --due``. Skipped for a store that does not implement it."""
from __future__ import annotations

from typing import Any

import pytest

from flowrun.plugin import SlotStore

FLOW = "flows/flow_hourly.py"
H = 3600.0  # slots an hour apart


class SlotStoreSemantics:
    """Slots are claimed at most once, ever; locks exclude other stores (and so other
    processes) until released or closed."""

    persistent: bool

    @pytest.fixture
    def slot_store(self, store: Any) -> Any:
        if not isinstance(store, SlotStore):
            pytest.skip("the store does not implement SlotStore (no --due)")
        return store

    def test_a_slot_is_claimed_at_most_once(self, slot_store, reader):
        assert slot_store.claim_slots(FLOW, [1 * H, 2 * H], [], now=2 * H) == [1 * H, 2 * H]
        assert slot_store.claim_slots(FLOW, [2 * H, 3 * H], [], now=3 * H) == [3 * H]
        assert reader().claim_slots(FLOW, [1 * H, 3 * H], [], now=3 * H) == []

    def test_skipped_slots_are_recorded_and_never_claimed(self, slot_store):
        assert slot_store.claim_slots(FLOW, [3 * H], [1 * H, 2 * H], now=3 * H) == [3 * H]
        assert slot_store.slot_history(FLOW) == [
            (1 * H, "skipped"), (2 * H, "skipped"), (3 * H, "running")]
        slot_store.finish_slot(FLOW, 3 * H, "succeeded", now=3 * H + 1)
        assert slot_store.claim_slots(FLOW, [1 * H], [], now=3 * H) == []
        assert slot_store.slot_history(FLOW)[0] == (1 * H, "skipped")

    def test_last_slots_gives_each_flows_newest_slot(self, slot_store, reader):
        slot_store.claim_slots(FLOW, [1 * H, 2 * H], [], now=2 * H)
        slot_store.finish_slot(FLOW, 2 * H, "succeeded", now=2 * H + 5)
        slot_store.claim_slots("flows/flow_daily.py", [24 * H], [], now=24 * H)
        last = reader().last_slots()
        assert last[FLOW][:2] == (2 * H, "succeeded")
        assert last["flows/flow_daily.py"][:2] == (24 * H, "running")
        assert set(reader().last_slots(FLOW)) == {FLOW}
        assert reader().last_slots("flows/flow_never.py") == {}

    def test_a_slot_left_running_is_abandoned_by_the_next_claim(self, slot_store):
        slot_store.claim_slots(FLOW, [1 * H], [], now=1 * H)  # its process died
        assert slot_store.claim_slots(FLOW, [2 * H], [], now=2 * H) == [2 * H]
        assert slot_store.slot_history(FLOW) == [(1 * H, "abandoned"), (2 * H, "running")]

    def test_note_busy_marks_the_running_slot(self, slot_store):
        slot_store.claim_slots(FLOW, [1 * H], [], now=1 * H)
        slot_store.note_busy(FLOW, 2 * H)
        slot_store.note_busy(FLOW, 3 * H)
        assert slot_store.last_slots(FLOW)[FLOW] == (1 * H, "running", 3 * H)

    def test_a_flow_lock_excludes_another_store_until_released(self, slot_store,
                                                               make_store):
        if not self.persistent:
            pytest.skip("a store that lives only as long as its object shares no lock")
        other = make_store()
        try:
            assert slot_store.lock_flow(FLOW)
            assert slot_store.lock_flow(FLOW)  # taking it again is fine
            assert not other.lock_flow(FLOW)
            assert other.lock_flow("flows/flow_other.py")  # locks are per flow
            slot_store.unlock_flow(FLOW)
            assert other.lock_flow(FLOW)
        finally:
            other.close()

    def test_close_releases_every_lock(self, slot_store, make_store):
        if not self.persistent:
            pytest.skip("a store that lives only as long as its object shares no lock")
        first, second = make_store(), make_store()
        try:
            assert first.lock_flow(FLOW)
            first.close()
            assert second.lock_flow(FLOW)
        finally:
            second.close()
