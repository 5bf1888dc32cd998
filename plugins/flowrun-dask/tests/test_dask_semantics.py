"""flowrun's execution-semantics suite on the dask executor (a LocalCluster per run):
what holds on the thread, process and SSH executors holds here."""
from __future__ import annotations

import pytest

pytest.importorskip("flowrun_dask", reason="pip install -e plugins/flowrun-dask")

from flowrun.testing import ExecutorSuite  # noqa: E402 - after the skip


class TestDaskExecutor(ExecutorSuite):
    executor_args = ["--executor", "dask"]
