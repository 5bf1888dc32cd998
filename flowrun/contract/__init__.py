"""Contract suites: flowrun's own behaviour tests, packaged for plugin authors.

A third-party executor or store proves it behaves like the built-in ones by running
the same tests flowrun runs on its own, in a few lines of its test suite::

    from flowrun.testing import ExecutorSuite, StorageSuite

    class TestMyExecutor(ExecutorSuite):
        executor_args = ["--executor", "mine"]

    class TestMyStore(StorageSuite):
        @pytest.fixture
        def make_store(self, tmp_path):
            return lambda: MyStore(f"mine://{tmp_path}/db")

Both are plain pytest classes (their names do not start with ``Test``, so importing
them collects nothing); your subclass is what pytest collects. See ``ExecutorSuite``
and ``StorageSuite`` for what each one needs and checks.
"""
from __future__ import annotations

from typing import Any

__all__ = ["ExecutorSuite", "StorageSuite"]
_WHERE = {"ExecutorSuite": "flowrun.contract.executor",
          "StorageSuite": "flowrun.contract.storage"}


def __getattr__(name: str) -> Any:  # the suites load on first use: most sessions need none
    if name not in _WHERE:
        raise AttributeError(f"module 'flowrun.contract' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_WHERE[name]), name)
