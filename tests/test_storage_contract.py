"""The built-in SQLite store against the Storage (and SlotStore) contract suite, on a
file and on ``memory:``, through the same hook flowrun opens it with."""
from __future__ import annotations

import pytest

from flowrun.plugin import Report
from flowrun.storage import sqlite
from flowrun.testing import StorageSuite

pytest_plugins = ["pytester"]


class TestSqliteFileStore(StorageSuite):
    @pytest.fixture
    def make_store(self, tmp_path):
        url = f"sqlite:///{tmp_path / '.flowrun' / 'flowrun.db'}"
        return lambda: sqlite.flowrun_make_storage(url=url, config=None)

    def test_a_big_results_quick_row_names_its_file(self, store):
        """The file store keeps big results in files: the contract's other branch."""
        success = Report(run_id="r1", flow_id="flows/flow_a.py", status="succeeded",
                         task_id="flows/flow_a.py::t", result=b"x" * 300_000)
        store.record_fingerprint(success.task_id, "", "a", success, quick="k")
        store.flush()
        [(_, result, _, ref, _)] = store.quick_fingerprints("flows/flow_a.py", "").values()
        assert result is None and ref is not None


class TestSqliteMemoryStore(StorageSuite):
    persistent = False

    @pytest.fixture
    def make_store(self):
        return lambda: sqlite.flowrun_make_storage(url="memory:", config=None)


@pytest.mark.slow
def test_the_suite_fails_a_store_that_breaks_the_contract(pytester):
    pytester.makepyfile(test_broken="""
        import pytest
        from flowrun.storage.sqlite import SqliteStorage
        from flowrun.testing import StorageSuite

        class OldestFirst(SqliteStorage):
            def list_runs(self, flow=None, status=None, limit=None):
                return list(reversed(super().list_runs(flow, status)))[:limit]

        class TestBroken(StorageSuite):
            @pytest.fixture
            def make_store(self, tmp_path):
                return lambda: OldestFirst(str(tmp_path / "s.db"))
    """)
    outcome = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-k", "list_runs")
    outcome.assert_outcomes(failed=1)


@pytest.mark.slow
def test_the_suite_fails_a_store_whose_quick_keys_outlive_their_record(pytester):
    pytester.makepyfile(test_stale="""
        import pytest
        from flowrun.storage.sqlite import SqliteStorage
        from flowrun.testing import StorageSuite

        class KeepsOldKeys(SqliteStorage):
            def record_fingerprint(self, task_id, partition, fingerprint, success,
                                   quick=None):
                if quick is None:  # wrong: the old key must go with the old record
                    old = self.quick_fingerprints(task_id.partition("::")[0], partition)
                    quick = old.get(task_id, (None,))[0]
                super().record_fingerprint(task_id, partition, fingerprint, success, quick)

        class TestStale(StorageSuite):
            @pytest.fixture
            def make_store(self, tmp_path):
                return lambda: KeepsOldKeys(str(tmp_path / "s.db"))
    """)
    outcome = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-k",
                                            "without_a_key")
    outcome.assert_outcomes(failed=1)
