"""The optional ``FingerprintStore`` part of ``StorageSuite``: fingerprints of cached
tasks, keyed by task id and partition. Skipped for a store that does not implement it
(cached tasks then always run). Likewise ``QuickFingerprintStore``, the quick keys a
null run compares (without it, every cached task is judged the long way)."""
from __future__ import annotations

from typing import Any

import pytest

from flowrun.plugin import FingerprintStore, QuickFingerprintStore, Report

FLOW = "flows/flow_a.py"
TASK = FLOW + "::clean"


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


class QuickFingerprintStoreSemantics:
    """A quick key recorded with a fingerprint is listed by ``quick_fingerprints`` with
    its success's result, format, file reference and time, buffered or flushed, by this
    store and another on the same data; keyless rows and other flows or partitions are
    not listed; a later record without a key and ``forget_fingerprints`` drop the key,
    from a list handed out before too."""

    @pytest.fixture
    def quick_store(self, store: Any) -> Any:
        if not isinstance(store, QuickFingerprintStore):
            pytest.skip("the store does not implement QuickFingerprintStore (null runs "
                        "judge cached tasks the long way)")
        return store

    def test_a_quick_key_is_listed_with_its_success(self, quick_store, reader):
        quick_store.record_fingerprint(TASK, "", "a", _success("r1", b"[1]"), quick="k1")
        listed = {TASK: ("k1", b"[1]", "json", None, 5.0)}
        assert quick_store.quick_fingerprints(FLOW, "") == listed  # before a flush
        quick_store.flush()
        assert quick_store.quick_fingerprints(FLOW, "") == listed
        assert reader().quick_fingerprints(FLOW, "") == listed

    def test_a_list_handed_out_follows_later_records(self, quick_store, reader):
        assert quick_store.quick_fingerprints(FLOW, "") == {}  # asked before any record
        quick_store.record_fingerprint(TASK, "", "a", _success("r1", b"1"), quick="k1")
        quick_store.record_fingerprint(TASK + "[0]", "", "b", _success("r1", b"2"))
        assert _keys(quick_store) == {TASK: "k1"}
        quick_store.flush()
        quick_store.record_fingerprint(TASK, "", "c", _success("r2", b"3"), quick="k2")
        assert quick_store.quick_fingerprints(FLOW, "")[TASK][:2] == ("k2", b"3")
        quick_store.flush()
        assert reader().quick_fingerprints(FLOW, "")[TASK][:2] == ("k2", b"3")

    def test_keyless_rows_and_other_flows_and_partitions_are_not_listed(
            self, quick_store, reader):
        other = "flows/flow_a.py.bak::clean"  # a flow id the first one is a prefix of
        quick_store.record_fingerprint(TASK, "", "a", _success("r1", b"1"))
        quick_store.record_fingerprint(TASK + "[0]", "2026-12-01", "b",
                                       _success("r1", b"1"), quick="k0")
        quick_store.record_fingerprint(other, "", "o", _success("r1", b"1"), quick="ko")
        assert _keys(quick_store) == {}
        quick_store.flush()
        for store in (quick_store, reader()):
            assert _keys(store) == {}
            assert _keys(store, "2026-12-01") == {TASK + "[0]": "k0"}
            assert _keys(store, flow="flows/flow_a.py.bak") == {other: "ko"}

    def test_a_record_without_a_key_drops_the_old_key(self, quick_store, reader):
        quick_store.record_fingerprint(TASK, "", "a", _success("r1", b"1"), quick="k1")
        quick_store.flush()
        assert _keys(reader()) == {TASK: "k1"}
        quick_store.record_fingerprint(TASK, "", "b", _success("r2", b"2"))
        assert _keys(quick_store) == {}  # before a flush
        quick_store.flush()
        assert _keys(quick_store) == _keys(reader()) == {}
        assert reader().get_fingerprint(TASK, "")[0] == "b"  # the fingerprint stays

    def test_forget_drops_the_keys_of_the_task_and_its_instances(self, quick_store,
                                                                 reader):
        for node in (TASK, TASK + "[0]", TASK + "_other"):
            quick_store.record_fingerprint(node, "", "a", _success("r1", b"1"),
                                           quick="k")
        quick_store.flush()
        assert len(_keys(quick_store)) == 3  # a list handed out, then forgotten
        quick_store.forget_fingerprints(TASK)
        assert _keys(quick_store) == _keys(reader()) == {TASK + "_other": "k"}

    def test_a_big_result_is_listed_whole_or_by_its_file(self, quick_store, reader):
        """A store that keeps big results in files lists the file (``result_ref``,
        result None) and ``get_fingerprint`` loads it; any other lists the result."""
        blob = b"x" * 300_000
        quick_store.record_fingerprint(TASK, "", "a", _success("r1", blob), quick="k1")
        quick_store.flush()
        for store in (quick_store, reader()):
            quick, result, result_format, ref, finished = \
                store.quick_fingerprints(FLOW, "")[TASK]
            assert (quick, result_format, finished) == ("k1", "json", 5.0)
            if ref is None:
                assert result == blob
            else:
                assert result is None
                assert store.get_fingerprint(TASK, "")[1].result == blob


def _keys(store: Any, partition: str = "", flow: str = FLOW) -> dict[str, str]:
    """The quick keys ``store`` lists for a flow and partition, by task id."""
    return {task_id: row[0]
            for task_id, row in store.quick_fingerprints(flow, partition).items()}
