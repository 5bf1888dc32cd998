"""The ``executor`` fixture of the durability tests (nodes, flow options, state): the
command-line arguments of every executor whose behaviour must match — thread, process,
Dask (when plugins/flowrun-dask is installed) and SSH (when sshd can run). Import it
into a test module: ``from all_executors import executor  # noqa: F401``."""
from __future__ import annotations

import importlib.util

import pytest
import sshd

EXECUTORS: dict[str, list[str]] = {"thread": [], "process": ["--executor", "process"]}
if importlib.util.find_spec("flowrun_dask") is not None:
    EXECUTORS["dask"] = ["--executor", "dask"]
if sshd.why_unavailable() is None:
    EXECUTORS["ssh"] = []  # the ssh_executor_args fixture (sshd starts lazily)


#: Dask's cluster start and SSH's connections make their cases the slowest: they run with
#: ``-m slow`` (as CI does); the default run keeps SSH's and Dask's own test files.
SLOW = {"dask", "ssh"}


@pytest.fixture(params=[pytest.param(name, marks=pytest.mark.slow) if name in SLOW else name
                        for name in sorted(EXECUTORS)])
def executor(request: pytest.FixtureRequest) -> list[str]:
    """Command-line arguments selecting one executor."""
    if request.param == "ssh":
        return request.getfixturevalue("ssh_executor_args")
    return EXECUTORS[request.param]
