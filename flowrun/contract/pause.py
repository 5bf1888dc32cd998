"""``PauseSemantics``: the optional ``PauseStore`` part of the storage contract, mixed
into ``StorageSuite``."""
from __future__ import annotations

import time

import pytest

from flowrun.plugin import PauseStore

FLOW = "flows/flow_hourly.py"


class PauseSemantics:
    """A paused flow stays paused for every reader until resumed."""

    def test_paused_flows_are_kept_until_resumed(self, store, reader):
        if not isinstance(store, PauseStore):
            pytest.skip("the store has no pause_flow (PauseStore is optional)")
        assert store.paused_flows() == {}
        before = time.time()
        store.pause_flow(FLOW)
        since = reader().paused_flows()[FLOW]
        assert before - 1 <= since <= time.time() + 1
        store.pause_flow(FLOW, now=since + 60)  # again: paused since the first time
        assert reader().paused_flows() == {FLOW: since}
        store.pause_flow("flows/flow_other.py", now=1_700_000_000.0)
        store.pause_flow(FLOW, paused=False)
        store.pause_flow(FLOW, paused=False)  # resuming a running flow: nothing
        assert reader().paused_flows() == {"flows/flow_other.py": 1_700_000_000.0}
