"""The built-in SQLite store against the Storage (and SlotStore) contract suite, on a
file and on ``memory:``, through the same hook flowrun opens it with."""
from __future__ import annotations

import pytest

from flowrun.storage import sqlite
from flowrun.testing import StorageSuite

pytest_plugins = ["pytester"]


class TestSqliteFileStore(StorageSuite):
    @pytest.fixture
    def make_store(self, tmp_path):
        url = f"sqlite:///{tmp_path / '.flowrun' / 'flowrun.db'}"
        return lambda: sqlite.flowrun_make_storage(url=url, config=None)


class TestSqliteMemoryStore(StorageSuite):
    persistent = False

    @pytest.fixture
    def make_store(self):
        return lambda: sqlite.flowrun_make_storage(url="memory:", config=None)


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
