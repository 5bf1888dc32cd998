"""The exported storage contract, on PostgreSQL."""
from __future__ import annotations

import pytest

from flowrun.testing import StorageSuite
from flowrun_postgres.store import PostgresStorage


class TestPostgresStore(StorageSuite):
    @pytest.fixture
    def make_store(self, pg_url):
        return lambda: PostgresStorage(pg_url)
