"""A PostgreSQL cluster for the session (about a second to start), a database per test.
Tests that need it skip, saying why, where PostgreSQL is not installed."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from flowrun_postgres.testing import start_cluster


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Any]:
    cluster, why = start_cluster()
    if cluster is None:
        pytest.skip(why)
    yield cluster
    cluster.close()


@pytest.fixture
def pg_url(pg_cluster: Any) -> str:
    """A fresh, empty database's URL (with its password)."""
    return pg_cluster.new_database()
