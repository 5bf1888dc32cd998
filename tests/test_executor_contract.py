"""The built-in executors against flowrun's execution-semantics suite: the behaviour
must not depend on where tasks run. (flowrun-dask runs it in its own tests.)"""
from __future__ import annotations

import pytest
import sshd

from flowrun.testing import ExecutorSuite


class TestThreadExecutor(ExecutorSuite):
    executor_args = []  # the default


class TestProcessExecutor(ExecutorSuite):
    executor_args = ["--executor", "process"]


@pytest.mark.slow  # the whole suite over a real sshd; the default run keeps SSH's own tests
@pytest.mark.skipif(sshd.why_unavailable() is not None,
                    reason=str(sshd.why_unavailable()))
class TestSshExecutor(ExecutorSuite):
    @pytest.fixture
    def executor_args(self, ssh_executor_args):
        return ssh_executor_args
