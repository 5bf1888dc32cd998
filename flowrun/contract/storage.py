"""``StorageSuite``: the behaviour of the ``Storage`` interface, for any store."""
from __future__ import annotations

import time
from typing import Any, Callable, Iterator

import pytest

from flowrun.contract.alerts import AlertStoreSemantics
from flowrun.contract.fingerprints import (
    FingerprintStoreSemantics,
    QuickFingerprintStoreSemantics,
)
from flowrun.contract.logsearch import LogSearchSemantics
from flowrun.contract.pause import PauseSemantics
from flowrun.contract.leases import LeaseStoreSemantics
from flowrun.contract.limits import LimitStoreSemantics
from flowrun.contract.slots import SlotStoreSemantics
from flowrun.plugin import FAILED, RUNNING, SUCCEEDED, Report, Run, Storage, StoreError


def make_run(run_id: str, flow_id: str = "flows/flow_a.py", started: float | None = None,
             **fields: Any) -> Run:
    return Run(id=run_id, flow_id=flow_id, status=RUNNING,
               started=time.time() if started is None else started, **fields)


def make_report(run: Run, name: str, attempt: int = 1, status: str = SUCCEEDED,
                **fields: Any) -> Report:
    return Report(run_id=run.id, flow_id=run.flow_id, task_id=f"{run.flow_id}::{name}",
                  status=status, attempt=attempt, **fields)


class StorageSuite(SlotStoreSemantics, FingerprintStoreSemantics,
                   QuickFingerprintStoreSemantics, AlertStoreSemantics,
                   LogSearchSemantics, PauseSemantics, LeaseStoreSemantics,
                   LimitStoreSemantics):
    """The ``Storage`` interface's contract (``flowrun.plugin.Storage``), as tests.

    Subclass it and give a ``make_store`` fixture returning a callable that opens your
    store; every call opens it anew on the same data::

        from flowrun.testing import StorageSuite

        class TestMyStore(StorageSuite):
            @pytest.fixture
            def make_store(self, tmp_path):
                return lambda: MyStore(f"mine://{tmp_path}/runs")

    Set ``persistent = False`` for a store whose data lives only as long as the object
    (like ``memory:``): the tests then read back through the same object instead of a
    second one, and the tests of locks between two stores are skipped.

    What it checks: ``run_started`` is durable at once and ``run_finished`` records the
    final status, time and counts after flushing pending reports; ``record`` buffers
    and a later record of the same attempt replaces it; ``flush`` and ``close`` make
    records durable; ``get_run`` by id or unique prefix, and ``StoreError`` for none or
    many; ``list_runs`` newest first, by flow, status and limit; ``attempts`` in
    recorded order, with or without result bytes, every field round-tripped, large
    results too; ``find_cached`` finds the newest succeeded attempt with the run key;
    ``get_state`` after ``record_state`` merges keys and deletes on None. A store that
    also implements ``SlotStore`` (``isinstance(store, SlotStore)``) is checked against
    it too (see ``SlotStoreSemantics``), and one implementing ``FingerprintStore``
    against ``FingerprintStoreSemantics`` (and ``QuickFingerprintStoreSemantics`` if it
    keeps quick keys); otherwise those tests are skipped. So are
    ``OutboxStore``, ``MetricsStore`` and ``TraceStore`` (``AlertStoreSemantics``). A
    store that implements ``LogSearchStore`` is checked to find stored lines of every
    run (by flow, newest first, across records made since an earlier search); one that
    implements ``PauseStore`` to keep paused flows for every reader until resumed.
    Every store records a run's host; one that implements ``LeaseStore`` (shared by
    several hosts) is held to ``LeaseStoreSemantics``; one that implements
    ``LimitStore`` (limits shared by hosts) to ``LimitStoreSemantics``.
    """

    persistent = True

    @pytest.fixture
    def store(self, make_store: Callable[[], Storage]) -> Iterator[Storage]:
        store = make_store()
        yield store
        store.close()

    @pytest.fixture
    def reader(self, store: Storage, make_store: Callable[[], Storage]
               ) -> Iterator[Callable[[], Storage]]:
        """Opens a second store on the same data (for a persistent store)."""
        opened: list[Storage] = []

        def read() -> Storage:
            if not self.persistent:
                return store
            opened.append(make_store())
            return opened[-1]

        yield read
        for other in opened:
            other.close()

    def test_the_store_implements_the_interface(self, store):
        assert isinstance(store, Storage)
        assert isinstance(store.url, str) and store.url

    def test_a_started_run_is_durable_at_once(self, store, reader):
        run = make_run("r00000000001", params={"day": "mon"}, partition="2026-11-01",
                       scheduled_for=1_700_000_000.0, resumed_from="r00000000000")
        store.run_started(run)
        got = reader().get_run(run.id)
        assert (got.flow_id, got.status, got.started) == (run.flow_id, RUNNING, run.started)
        assert got.params == {"day": "mon"} and got.partition == "2026-11-01"
        assert got.scheduled_for == 1_700_000_000.0 and got.resumed_from == "r00000000000"
        assert got.finished is None and got.error is None

    def test_a_run_that_failed_before_its_tasks_keeps_its_error(self, store, reader):
        run = make_run("r00000000001", error="--param n='x': expected an int")
        run.status, run.finished = FAILED, run.started
        store.run_started(run)
        store.run_finished(run)
        got = reader().get_run(run.id)
        assert (got.status, got.error) == (FAILED, "--param n='x': expected an int")
        assert [r.error for r in reader().list_runs()] == [run.error]

    def test_run_finished_flushes_reports_then_records_the_outcome(self, store, reader):
        run = make_run("r00000000001")
        store.run_started(run)
        store.record(make_report(run, "a"))
        run.status, run.finished, run.counts = FAILED, run.started + 2, {"succeeded": 1}
        store.run_finished(run)
        other = reader()
        got = other.get_run(run.id)
        assert (got.status, got.finished, got.counts) == (FAILED, run.finished,
                                                          {"succeeded": 1})
        assert [a.task_id for a in other.attempts(run.id)] == ["flows/flow_a.py::a"]

    def test_records_are_durable_after_flush_in_recorded_order(self, store, reader):
        run = make_run("r00000000001")
        store.run_started(run)
        for name in ("c", "a", "b"):
            store.record(make_report(run, name))
        store.flush()
        names = [a.task_id.rpartition("::")[2] for a in reader().attempts(run.id)]
        assert names == ["c", "a", "b"]

    def test_a_later_record_of_an_attempt_replaces_it(self, store, reader):
        run = make_run("r00000000001")
        store.run_started(run)
        store.record(make_report(run, "a", status=RUNNING))
        store.flush()
        store.record(make_report(run, "a", status=SUCCEEDED, stdout="done\n"))
        store.record(make_report(run, "a", attempt=2, status=FAILED))
        store.flush()
        got = [(a.attempt, a.status, a.stdout) for a in reader().attempts(run.id)]
        assert got == [(1, SUCCEEDED, "done\n"), (2, FAILED, "")]

    def test_close_flushes_what_is_buffered(self, make_store):
        if not self.persistent:
            pytest.skip("a store that lives only as long as its object")
        store = make_store()
        run = make_run("r00000000001")
        store.run_started(run)
        store.record(make_report(run, "a"))
        store.record_state(run.flow_id, {"k": (b"1", "json")})
        store.close()
        again = make_store()
        try:
            assert [a.task_id for a in again.attempts(run.id)] == ["flows/flow_a.py::a"]
            assert again.get_state(run.flow_id) == {"k": (b"1", "json")}
        finally:
            again.close()

    def test_every_report_field_round_trips(self, store, reader):
        run = make_run("r00000000001")
        store.run_started(run)
        fields = dict(queued=1.0, started=2.0, finished=3.5, error="Traceback ...",
                      summary="ValueError: boom", reason="why", stdout="out", stderr="err",
                      log="INFO hi", result=b"\x80\x04K\x01.", result_format="pickle",
                      run_key="k1", parent="flows/flow_a.py::p", source_hash="abc")
        store.record(make_report(run, "a", status=FAILED, **fields))
        store.flush()
        (got,) = reader().attempts(run.id, with_results=True)
        assert (got.run_id, got.flow_id, got.task_id, got.status, got.attempt) == (
            run.id, run.flow_id, "flows/flow_a.py::a", FAILED, 1)
        for name, value in fields.items():
            assert getattr(got, name) == value, name

    def test_attempts_leave_results_out_unless_asked(self, store, reader):
        run = make_run("r00000000001")
        store.run_started(run)
        store.record(make_report(run, "a", result=b"small", result_format="json"))
        store.record(make_report(run, "big", result=b"x" * 300_000, result_format="pickle"))
        store.flush()
        other = reader()
        assert [a.result for a in other.attempts(run.id)] == [None, None]
        assert [a.result for a in other.attempts(run.id, with_results=True)] == [
            b"small", b"x" * 300_000]
        assert [a.result_format for a in other.attempts(run.id)] == ["json", "pickle"]

    def test_attempts_of_an_unknown_run_are_none(self, store):
        assert store.attempts("nosuchrun000") == []

    def test_get_run_by_id_or_unique_prefix(self, store, reader):
        for run_id in ("abc100000001", "abc200000002"):
            store.run_started(make_run(run_id))
        other = reader()
        assert other.get_run("abc100000001").id == "abc100000001"
        assert other.get_run("abc2").id == "abc200000002"
        with pytest.raises(StoreError):
            other.get_run("abc")  # two runs start so
        with pytest.raises(StoreError):
            other.get_run("zzz")

    def test_list_runs_newest_first_by_flow_status_and_limit(self, store, reader):
        now = time.time()
        runs = [make_run(f"r0000000000{i}", flow_id=flow, started=now + i)
                for i, flow in enumerate(["flows/flow_a.py", "flows/flow_b.py",
                                          "flows/flow_a.py"])]
        for run in runs:
            store.run_started(run)
        runs[0].status, runs[0].finished = SUCCEEDED, now + 10
        store.run_finished(runs[0])
        other = reader()
        assert [r.id for r in other.list_runs()] == [r.id for r in reversed(runs)]
        assert [r.id for r in other.list_runs(flow="flows/flow_a.py")] == [
            runs[2].id, runs[0].id]
        assert [r.id for r in other.list_runs(status=SUCCEEDED)] == [runs[0].id]
        assert [r.id for r in other.list_runs(status=RUNNING, flow="flows/flow_b.py")] \
            == [runs[1].id]
        assert [r.id for r in other.list_runs(limit=2)] == [runs[2].id, runs[1].id]
        assert other.list_runs(flow="flows/flow_none.py") == []

    def test_find_cached_is_the_newest_success_with_the_key(self, store):
        old, new = make_run("r00000000001"), make_run("r00000000002")
        for run in (old, new):
            store.run_started(run)
        store.record(make_report(old, "load", run_key="day-1", result=b"old",
                                 result_format="json", finished=1.0))
        store.record(make_report(new, "load", run_key="day-1", result=b"new",
                                 result_format="json", finished=2.0))
        store.record(make_report(new, "load", attempt=2, status=FAILED, run_key="day-2",
                                 finished=3.0))
        store.flush()
        found = store.find_cached("flows/flow_a.py::load", "day-1")
        assert found is not None and found.run_id == new.id
        assert (found.result, found.result_format) == (b"new", "json")
        assert store.find_cached("flows/flow_a.py::load", "day-2") is None  # it failed
        assert store.find_cached("flows/flow_a.py::other", "day-1") is None

    def test_state_changes_merge_and_none_deletes(self, store, reader):
        flow = "flows/flow_a.py"
        assert store.get_state(flow) == {}
        store.record_state(flow, {"a": (b"1", "json"), "b": (b"2", "json")})
        store.flush()
        store.record_state(flow, {"b": None, "c": (b"\x80", "pickle")})
        store.record_state("flows/flow_b.py", {"a": (b"9", "json")})
        store.flush()
        assert reader().get_state(flow) == {"a": (b"1", "json"), "c": (b"\x80", "pickle")}
        assert reader().get_state("flows/flow_b.py") == {"a": (b"9", "json")}

