"""The optional ``FingerprintStore`` part of ``StorageSuite``: fingerprints of cached
tasks, keyed by task id and partition. Skipped for a store that does not implement it
(cached tasks then always run)."""
from __future__ import annotations

from typing import Any

import pytest

from flowrun.plugin import FingerprintStore, Report

TASK = "flows/flow_a.py::clean"


def _success(run_id: str, result: bytes, finished: float = 5.0) -> Report:
    return Report(run_id=run_id, flow_id="flows/flow_a.py", task_id=TASK,
                  status="succeeded", result=result, result_format="json",
                  finished=finished)


class FingerprintStoreSemantics:
    """A recorded fingerprint is found by task id and partition with its success's run,
    result and time, replaced by the next one, kept across a flush and another
    store, seen by a read that follows a write, and dropped by ``forget_fingerprints``
    with its task's instances."""

    @pytest.fixture
    def fp_store(self, store: Any) -> Any:
        if not isinstance(store, FingerprintStore):
            pytest.skip("the store does not implement FingerprintStore (no caching)")
        return store

    def test_a_recorded_fingerprint_is_found_with_its_success(self, fp_store, reader):
        assert fp_store.get_fingerprint(TASK, "") is None
        fp_store.record_fingerprint(TASK, "", '{"format": 1}', _success("r1", b"[1]"))
        text, success = fp_store.get_fingerprint(TASK, "")  # before any flush too
        assert (text, success.run_id, success.result) == ('{"format": 1}', "r1", b"[1]")
        fp_store.flush()
        text, success = reader().get_fingerprint(TASK, "")
        assert (text, success.run_id, success.result, success.result_format,
                success.finished) == ('{"format": 1}', "r1", b"[1]", "json", 5.0)

    def test_partitions_are_kept_apart_and_a_new_record_replaces(self, fp_store):
        fp_store.record_fingerprint(TASK, "2026-12-01", "a", _success("r1", b"1"))
        fp_store.record_fingerprint(TASK, "2026-12-02", "b", _success("r2", b"2"))
        fp_store.flush()
        fp_store.record_fingerprint(TASK, "2026-12-01", "c", _success("r3", b"3"))
        fp_store.flush()
        assert fp_store.get_fingerprint(TASK, "2026-12-01")[0] == "c"
        assert fp_store.get_fingerprint(TASK, "2026-12-02")[1].run_id == "r2"
        assert fp_store.get_fingerprint(TASK, "") is None

    def test_large_results_come_back_whole(self, fp_store, reader):
        blob = b"x" * 300_000
        fp_store.record_fingerprint(TASK, "", "a", _success("r1", blob))
        fp_store.flush()
        assert reader().get_fingerprint(TASK, "")[1].result == blob

    def test_forget_drops_the_task_and_its_instances_only(self, fp_store, reader):
        for node in (TASK, TASK + "[0]", TASK + "[1]", TASK + "_other"):
            fp_store.record_fingerprint(node, "", "a", _success("r1", b"1"))
        fp_store.flush()
        assert fp_store.forget_fingerprints(TASK) == 3
        assert reader().get_fingerprint(TASK + "[1]", "") is None
        assert reader().get_fingerprint(TASK + "_other", "") is not None

    def test_reads_after_writes_see_them_and_flows_are_kept_apart(self, fp_store):
        other = "flows/flow_a.py.bak::clean"  # a flow id the first one is a prefix of
        assert fp_store.get_fingerprint(TASK + "[0]", "") is None  # a read comes first
        fp_store.record_fingerprint(TASK + "[1]", "", "b", _success("r1", b"1"))
        fp_store.record_fingerprint(other, "", "o", _success("r1", b"1"))
        fp_store.flush()
        assert fp_store.get_fingerprint(TASK + "[1]", "")[0] == "b"
        assert fp_store.get_fingerprint(other, "")[0] == "o"
        assert fp_store.get_fingerprint("flows/flow_a.py::clean[2]", "") is None
