"""Where settings come from: the rootdir, ``[tool.flowrun]`` / ``flowrun.toml``, the
environment and the command line (later wins), and the option parser plugins extend.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from typing import Any

from flowrun.errors import UsageError
from flowrun.stash import Stash

CONFIG_FILES = ("flowrun.toml", "pyproject.toml")
DEFAULT_STORE_PATH = os.path.join(".flowrun", "flowrun.db")


def find_rootdir(start: str) -> tuple[str, str | None, dict[str, Any]]:
    """The nearest ancestor of ``start`` with a flowrun config: (rootdir, file, settings).

    A ``flowrun.toml`` counts wherever it is; a ``pyproject.toml`` only with a
    ``[tool.flowrun]`` table. With neither, ``start`` is the rootdir.
    """
    directory = os.path.abspath(start)
    while True:
        for name in CONFIG_FILES:
            path = os.path.join(directory, name)
            if os.path.isfile(path):
                settings = _read(path)
                if settings is not None:
                    return directory, path, settings
        parent = os.path.dirname(directory)
        if parent == directory:
            return os.path.abspath(start), None, {}
        directory = parent


def _read(path: str) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: cannot read config: {exc}") from None
    if os.path.basename(path) == "flowrun.toml":
        return data.get("tool", {}).get("flowrun", data)
    return data.get("tool", {}).get("flowrun")


@dataclass
class OptionParser:
    """What ``flowrun_addoption`` receives: collects click options for the run command."""

    options: list[Any] = field(default_factory=list)

    def addoption(self, *names: str, **attrs: Any) -> None:
        """Add an option; the arguments are those of ``click.Option``."""
        import click

        self.options.append(click.Option(list(names), **attrs))


class Config:
    """The settings of one invocation, shared with every plugin hook."""

    def __init__(self, rootdir: str, inifile: str | None, ini: dict[str, Any],
                 options: dict[str, Any], pluginmanager: Any = None) -> None:
        self.rootdir = rootdir
        self.inifile = inifile
        self.ini = ini
        self.options = options
        self.pluginmanager = pluginmanager
        self.hook = pluginmanager.hook if pluginmanager is not None else None
        #: Where plugins share state with one another (see ``flowrun.stash``).
        self.stash = Stash()

    def getoption(self, name: str, default: Any = None) -> Any:
        """The command-line value if given, else the config file's, else ``default``."""
        value = self.options.get(name)
        if value is None or value == () or value == []:
            value = self.ini.get(name, default)
        return default if value is None else value

    # -- settings with meaning --------------------------------------------------------

    @property
    def python_files(self) -> list[str]:
        value = self.ini.get("python_files", ["flow_*.py"])
        return [value] if isinstance(value, str) else list(value)

    @property
    def spec_files(self) -> list[str]:
        """Patterns of spec flow files (flows as data, see flowrun.collect.specs)."""
        value = self.ini.get("spec_files", ["flow_*.json", "flow_*.yaml", "flow_*.yml"])
        return [value] if isinstance(value, str) else list(value)

    @property
    def watch_ignore(self) -> list[str]:
        """Patterns (rootdir-relative, ``fnmatch``) whose changes ``--watch`` ignores."""
        value = self.ini.get("watch_ignore", [])
        return [value] if isinstance(value, str) else list(value)

    @property
    def flowpaths(self) -> list[str]:
        value = self.ini.get("flowpaths", ["."])
        value = [value] if isinstance(value, str) else list(value)
        return [os.path.normpath(os.path.join(self.rootdir, p)) for p in value]

    @property
    def executor(self) -> str:
        return str(self.getoption("executor", "thread"))

    @property
    def workers(self) -> int:
        value = self.getoption("workers")
        if value is None:
            return min(32, (os.cpu_count() or 1) + 4)
        try:
            workers = int(value)
        except (TypeError, ValueError):
            raise UsageError(f"workers must be a whole number, not {value!r}") from None
        if workers < 1:
            raise UsageError(f"workers must be at least 1, not {workers}")
        return workers

    @property
    def limits(self) -> dict[str, int]:
        limits = self.ini.get("limits", {})
        if not isinstance(limits, dict) or not all(
                isinstance(v, int) and v > 0 for v in limits.values()):
            raise UsageError(f"{self.inifile}: limits must map names to slot counts >= 1")
        return dict(limits)

    @property
    def max_result_size(self) -> int | None:
        """Bytes a stored result may take; a larger one fails its task (None: no limit)."""
        value = self.ini.get("max_result_size")
        if value is None:
            return None
        if not isinstance(value, int) or value <= 0:
            raise UsageError(f"{self.inifile}: max_result_size must be a number of bytes > 0")
        return value

    @property
    def interrupt_grace(self) -> float:
        """Seconds running tasks get to finish after the first stop signal (default 10)."""
        value = self.ini.get("interrupt_grace", 10.0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not \
                0 <= value < float("inf"):
            raise UsageError(f"{self.inifile}: interrupt_grace must be a number of seconds "
                             f">= 0, not {value!r}")
        return float(value)

    @property
    def store_url(self) -> str:
        """``--store``, then ``FLOWRUN_STORE``, then the config file, then the default."""
        url = self.options.get("store") or os.environ.get("FLOWRUN_STORE") \
            or self.ini.get("store")
        if not url:
            return "sqlite:///" + os.path.join(self.rootdir, DEFAULT_STORE_PATH)
        return normalize_store_url(str(url), self.rootdir)

    @property
    def task_overrides(self) -> dict[str, Any]:
        """Task options set for every task by the config file and command line."""
        found = {}
        for name in ("retries", "timeout", "retry_delay"):
            value = self.getoption(name)
            if value is not None:
                found[name] = value
        return found


def normalize_store_url(url: str, rootdir: str) -> str:
    """Accept a bare path or ``sqlite:///path``; relative paths are under the rootdir."""
    if url.startswith("memory:") or ("://" in url and not url.startswith("sqlite://")):
        return url
    path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else url
    return "sqlite:///" + os.path.join(rootdir, os.path.expanduser(path))
