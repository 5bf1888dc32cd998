"""Shared test set-up. The ``project`` fixture comes from flowrun.testing (loaded via
its pytest11 entry point), exactly as users get it.

``executor`` parametrizes semantics tests over every executor whose behaviour must
match: each entry gives the extra command-line arguments (and config) that select it.
"""
from __future__ import annotations

import pytest

#: name -> extra command-line arguments. Executors whose tests need a service (sshd,
#: a Dask cluster) add their entry from their own fixture module.
EXECUTORS: dict[str, list[str]] = {
    "thread": [],
}


@pytest.fixture(params=sorted(EXECUTORS))
def executor(request: pytest.FixtureRequest) -> list[str]:
    """Command-line arguments selecting one executor; semantics tests run on each."""
    return EXECUTORS[request.param]
