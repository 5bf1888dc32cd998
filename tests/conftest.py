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


COVERAGE_CHECK = "test_command_tree.py::test_every_command_and_option_has_an_end_to_end_test"


@pytest.hookimpl(trylast=True)  # after -k / -m deselected what they deselect
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The command-tree check judges what every other test ran: it goes last, and is
    skipped when only part of the suite runs (it would report untested what was simply
    not selected)."""
    checks = [item for item in items if item.nodeid.endswith(COVERAGE_CHECK)]
    for check in checks:
        items.remove(check)
        items.append(check)
        partial = _partial_run(config)
        if partial:
            check.add_marker(pytest.mark.skip(reason=f"needs the whole default run: {partial}"))


def _partial_run(config: pytest.Config) -> str | None:
    """Why this session is not the whole default run (``python -m pytest``, optionally
    with ``-m slow`` sweeps added), or None."""
    if config.args_source != pytest.Config.ArgsSource.TESTPATHS:
        return "test paths were named on the command line"
    if config.option.keyword:
        return f"-k {config.option.keyword!r} selected part of it"
    if config.option.markexpr not in ("not slow", "", "slow or not slow"):
        return f"-m {config.option.markexpr!r} selected part of it"
    if config.getoption("deselect", None):
        return "--deselect left tests out"
    return None
