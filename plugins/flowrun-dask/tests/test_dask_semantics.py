"""flowrun's execution-semantics suite on the dask executor (a LocalCluster per run):
what holds on the thread, process and SSH executors holds here. A LocalCluster of
worker processes per run makes this the longest suite (about 100 s on 2 cores), so it
runs with the slow sweeps (``-m slow``, which CI runs); the plugin's own tests run by
default."""
from __future__ import annotations

import pytest

pytest.importorskip("flowrun_dask", reason="pip install -e plugins/flowrun-dask")

from flowrun.testing import ExecutorSuite  # noqa: E402 - after the skip


@pytest.mark.slow
class TestDaskExecutor(ExecutorSuite):
    executor_args = ["--executor", "dask"]
