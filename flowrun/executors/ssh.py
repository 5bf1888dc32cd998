"""[plugin] The SSH executor: attempts run on other hosts (``ssh_executor``), set up by
``[tool.flowrun.ssh]`` and the ``--ssh-*`` options (``ssh_settings``). This module holds
only the hooks and the keys every command checks, so a command that does not run on
SSH never imports the executor or its settings.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flowrun.plugin import RESULT_FILES, UsageError, hookimpl

if TYPE_CHECKING:
    from flowrun.executors.ssh_executor import SSHExecutor

NAME = "ssh"
#: The keys of [tool.flowrun.ssh] and their kinds (``flowrun.config_keys``), checked at
#: the start of every command; the hosts' entries are checked when the executor is made.
KEYS: dict[str, Any] = {
    "hosts": "list", "config": "name", "python": "name",
    "slots": {"kind": "int", "minimum": 1, "maximum": 10_000},
    "connect_timeout": {"kind": "int", "minimum": 1, "maximum": 3600},
}


@hookimpl
def flowrun_addoption(parser: Any) -> None:
    parser.addoption("--ssh-host", "ssh_hosts", multiple=True, metavar="HOST",
                     help="A host for the ssh executor (repeatable; replaces the "
                     "configured hosts).")
    parser.addoption("--ssh-config", "ssh_config", default=None, metavar="FILE",
                     help="An ssh_config file for the ssh executor (ssh -F).")
    parser.addoption("--ssh-python", "ssh_python", default=None, metavar="CMD",
                     help="The remote command that runs Python (default python3).")
    parser.addini("ssh", "[tool.flowrun.ssh]: hosts and how to reach them", keys=KEYS)


@hookimpl
def flowrun_make_executor(name: str, config: Any) -> SSHExecutor | None:
    if name != NAME:
        return None
    import shutil  # not at the top: every run's `--ssh-*` options import this module

    if shutil.which("ssh") is None:
        raise UsageError("the ssh executor needs the OpenSSH client: no 'ssh' on PATH")
    from flowrun.executors.link import worker_options
    from flowrun.executors.ssh_executor import SSHExecutor
    from flowrun.executors.ssh_settings import read_settings

    settings = read_settings(config)
    settings.worker_options = tuple(worker_options(config))
    return SSHExecutor(settings, config.rootdir, config.stash.get(RESULT_FILES, None))


@hookimpl
def flowrun_executors() -> list[str]:
    return [NAME]
