"""The SSH executor's settings: ``[tool.flowrun.ssh]`` and the ``--ssh-*`` options."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from flowrun.executors.ssh import KEYS
from flowrun.plugin import UsageError


@dataclass
class Settings:
    hosts: list[tuple[str, int]]
    config: str | None = None
    python: str = "python3"
    slots: int = 1
    connect_timeout: int = 10
    worker_options: tuple[str, ...] = ()  # max_output_size, -s


def read_settings(config: Any) -> Settings:
    """``[tool.flowrun.ssh]``; a wrong value is one clear line (UsageError)."""
    where = f"{config.inifile or 'config'}: [tool.flowrun.ssh]"
    table = config.ini.get("ssh") or {}
    if not isinstance(table, dict):
        raise UsageError(f"{where} must be a table")
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        known = ", ".join(sorted(KEYS))
        raise UsageError(f"{where}: unknown key '{unknown[0]}' (known: {known})")
    slots = table.get("slots", 1)
    if not isinstance(slots, int) or slots < 1:
        raise UsageError(f"{where}: slots must be a whole number >= 1")
    hosts = [_host_entry(entry, slots, where) for entry in table.get("hosts", [])]
    settings = Settings(hosts=hosts, python=str(table.get("python", "python3")), slots=slots,
                        connect_timeout=int(table.get("connect_timeout", 10)))
    if table.get("config"):
        settings.config = _existing(config.rootdir, str(table["config"]), where)
    options = config.options  # the command line wins over the config file
    if options.get("ssh_hosts"):
        settings.hosts = [(name, slots) for name in options["ssh_hosts"]]
    if options.get("ssh_config"):
        settings.config = _existing(os.getcwd(), options["ssh_config"], "--ssh-config")
    if options.get("ssh_python"):
        settings.python = options["ssh_python"]
    return settings


def _existing(base: str, path: str, where: str) -> str:
    path = os.path.join(base, os.path.expanduser(path))
    if not os.path.isfile(path):
        raise UsageError(f"{where}: ssh config file not found: {path}")
    return path


def _host_entry(entry: Any, slots: int, where: str) -> tuple[str, int]:
    if isinstance(entry, str) and entry:
        return entry, slots
    if isinstance(entry, dict) and isinstance(entry.get("name"), str):
        count = entry.get("slots", slots)
        if isinstance(count, int) and count >= 1:
            return entry["name"], count
    raise UsageError(f"{where}: each host is a name or {{name = \"h1\", slots = 2}}, "
                     f"not {entry!r}")
