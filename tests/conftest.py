"""Shared test set-up. The ``project`` fixture comes from flowrun.testing (loaded via
its pytest11 entry point), exactly as users get it; the executor semantics run on every
executor through ``flowrun.testing.ExecutorSuite`` (tests/test_executor_contract.py).
"""
from __future__ import annotations

import sys

import pytest
import sshd


@pytest.fixture(scope="session")
def ssh_executor_args(tmp_path_factory: pytest.TempPathFactory):
    """A real sshd for the whole session; arguments running tasks on both its aliases."""
    server = sshd.SSHServer(tmp_path_factory.mktemp("sshd-semantics")).start()
    yield ["--executor", "ssh", "--ssh-config", str(server.ssh_config), "--ssh-host", "h1",
           "--ssh-host", "h2", "--ssh-python", sys.executable]
    server.stop()
