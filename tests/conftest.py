"""Shared test set-up. The ``project`` fixture comes from flowrun.testing (loaded via
its pytest11 entry point), exactly as users get it.

``executor`` parametrizes semantics tests over every executor whose behaviour must
match: each entry gives the extra command-line arguments (and config) that select it.
"""
from __future__ import annotations

import importlib.util
import sys

import pytest
import sshd

#: name -> extra command-line arguments. Executors whose tests need a service (sshd,
#: a Dask cluster) add their entry from their own fixture module.
EXECUTORS: dict[str, list[str]] = {
    "thread": [],
    "process": ["--executor", "process"],
}
if importlib.util.find_spec("flowrun_dask") is not None:  # plugins/flowrun-dask installed
    EXECUTORS["dask"] = ["--executor", "dask"]
if sshd.why_unavailable() is None:
    EXECUTORS["ssh"] = []  # filled by the ssh_executor_args fixture (sshd starts lazily)


@pytest.fixture(scope="session")
def ssh_executor_args(tmp_path_factory: pytest.TempPathFactory):
    """A real sshd for the whole session; arguments running tasks on both its aliases."""
    server = sshd.SSHServer(tmp_path_factory.mktemp("sshd-semantics")).start()
    yield ["--executor", "ssh", "--ssh-config", str(server.ssh_config), "--ssh-host", "h1",
           "--ssh-host", "h2", "--ssh-python", sys.executable]
    server.stop()


@pytest.fixture(params=sorted(EXECUTORS))
def executor(request: pytest.FixtureRequest) -> list[str]:
    """Command-line arguments selecting one executor; semantics tests run on each."""
    if request.param == "ssh":
        return request.getfixturevalue("ssh_executor_args")
    return EXECUTORS[request.param]
