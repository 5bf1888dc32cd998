"""Where settings come from: the rootdir, ``[tool.flowrun]`` / ``flowrun.toml``, the
environment and the command line (later wins), and the option parser plugins extend.
"""
from __future__ import annotations

import os
import tomllib
from typing import Any, Iterator

from flowrun import config_keys, trust
from flowrun.errors import ConfigError, UsageError, redact_url
from flowrun.plugin.storage import open_storage  # noqa: F401  (its old home)
from flowrun.stash import Stash

CONFIG_FILES = ("flowrun.toml", "pyproject.toml")
DEFAULT_STORE_PATH = os.path.join(".flowrun", "flowrun.db")


def find_rootdir(start: str) -> tuple[str, str | None, dict[str, Any]]:
    """The rootdir of ``start``: (rootdir, config file, settings) (API section 6).

    The nearest ancestor with a flowrun config (a ``flowrun.toml`` wherever it is; a
    ``pyproject.toml`` only with a ``[tool.flowrun]`` table); else the nearest holding a
    ``.flowrun/`` store; else ``start``. A directory another user controls is skipped
    with a warning line (``flowrun.trust``), never adopted.
    """
    start = os.path.abspath(start)
    store_dir = None
    for directory in _ancestors(start):
        found = _config_in(directory)
        if found is not None:
            return _text_path(directory), found[0], found[1]
        if store_dir is None and _holds_store(directory):
            store_dir = directory
    return _text_path(store_dir or start), None, {}


def _text_path(rootdir: str) -> str:
    """``rootdir``, if its name is valid UTF-8: ids, the store and reports need text."""
    try:
        rootdir.encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(rootdir).decode("utf-8", "backslashreplace")
        raise UsageError(f"rootdir {shown}: the path is not valid UTF-8; rename the "
                         "folder (flow ids and the store need text paths)") from None
    return rootdir


def _ancestors(start: str) -> Iterator[str]:
    directory = start
    while True:
        yield directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return
        directory = parent


def _config_in(directory: str) -> tuple[str, dict[str, Any]] | None:
    """The config file of ``directory`` and its settings, if it has one it may trust."""
    for name in CONFIG_FILES:
        path = os.path.join(directory, name)
        if not os.path.lexists(path) or os.path.isdir(path):
            continue
        why = trust.distrust(directory, path)
        if why is not None:
            if _names_flowrun(path):
                trust.warn(path, why)
            continue
        if not os.path.isfile(path):  # reading a FIFO would hang
            raise ConfigError(f"{path}: not a regular file")
        settings = _read(path)
        if settings is not None:
            return path, settings
    return None


def _names_flowrun(path: str) -> bool:
    """Whether an untrusted file is a flowrun config (worth a warning), without parsing
    it: a ``flowrun.toml``, or a ``pyproject.toml`` mentioning ``tool.flowrun``."""
    if os.path.basename(path) == "flowrun.toml":
        return True
    if not os.path.isfile(path):  # opening a FIFO would hang
        return False
    try:
        with open(path, "rb") as handle:
            return b"tool.flowrun" in handle.read(1 << 20)
    except OSError:
        return False


def _holds_store(directory: str) -> bool:
    """Whether ``directory`` holds a ``.flowrun/`` store it may be trusted with. A shared
    folder (writable by others, as ``/tmp``) is not adopted for its store alone: that
    store is more likely a leftover than a project, and every flow under it would run."""
    store = os.path.join(directory, os.path.dirname(DEFAULT_STORE_PATH))
    if not os.path.isdir(store) or trust.shared(directory):
        return False
    why = trust.distrust(directory, store)
    if why is not None:
        trust.warn(store, why)
    return why is None


def _read(path: str) -> dict[str, Any] | None:
    """The flowrun settings in ``path`` (None: a pyproject.toml without them), their
    declared keys checked (``flowrun.config_keys``)."""
    try:
        with open(path, "rb") as handle:
            data = tomllib.loads(handle.read().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not valid UTF-8 (byte {exc.start}); save the file "
                          "as UTF-8") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{path}: 'tool' must be a table ([tool.flowrun])")
    settings = tool.get("flowrun")
    if os.path.basename(path) == "flowrun.toml" and settings is None:
        settings = data
    if settings is not None and not isinstance(settings, dict):
        raise ConfigError(f"{path}: [tool.flowrun] must be a table, not "
                          f"{type(settings).__name__}")
    if settings is not None:
        config_keys.check(settings, path, table_name(path, settings is data))
    return settings


def table_name(path: str, top_level: bool) -> str:
    """How messages name where a key sits: ``[tool.flowrun]``, or nothing at the top of
    a ``flowrun.toml``."""
    return "" if top_level else "[tool.flowrun]"


def check_declared(inifile: str | None, ini: dict[str, Any], parser: OptionParser) -> None:
    """After plugins declared their keys: every key of the file must be known, and every
    table a plugin declared the keys of must hold only those, each of its kind, whatever
    the run uses (an unused executor's table too)."""
    if inifile is None:
        return
    top = os.path.basename(inifile) == "flowrun.toml" and "tool" not in ini
    table = table_name(inifile, top)
    config_keys.check_known(ini, inifile, table, parser.declared())
    for name, keys in parser.tables.items():
        if name in ini:
            config_keys.check_table(ini[name], inifile, table, name, keys)


class OptionParser:
    """What ``flowrun_addoption`` receives: collects click options for the run command.
    (A plain class: made once per command, a dataclass would cost more to define.)"""

    def __init__(self) -> None:
        self.options: list[Any] = []
        #: Config keys plugins declare (``[tool.flowrun.NAME]`` tables, say): name -> help.
        self.ini: dict[str, str] = {}
        #: The declared keys of plugins' tables: table name -> {key: its rule}.
        self.tables: dict[str, dict[str, config_keys.Key]] = {}

    def addoption(self, *names: str, **attrs: Any) -> None:
        """Add an option; the arguments are those of ``click.Option``. Its name is also
        accepted as a config key."""
        import click

        self.options.append(click.Option(list(names), **attrs))

    def addini(self, name: str, help: str, keys: dict[str, Any] | None = None) -> None:
        """Declare a config key (or table) this plugin reads. With ``keys`` (key -> a
        kind such as ``"int"``, or ``{"kind": "int", "minimum": 1}``; the kinds of
        ``flowrun.config_keys``) the table ``[tool.flowrun.NAME]`` is checked at the
        start of every command, like flowrun's own keys; without, the plugin checks it."""
        self.ini[name] = help
        if keys is not None:
            self.tables[name] = {key: config_keys.as_key(spec) for key, spec in keys.items()}

    def declared(self) -> set[str]:
        """Every config key plugins declared, options included."""
        return set(self.ini) | {o.name for o in self.options if o.name}


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

    def setting(self, name: str) -> Any:
        """A config key's value, or its declared default (``config_keys.DEFAULTS``)."""
        return self.ini.get(name, config_keys.DEFAULTS.get(name))

    @property
    def interrupt_grace(self) -> float:
        """Seconds running tasks get to finish after the first stop signal (checked with
        the rest of the config when it was read)."""
        return float(self.setting("interrupt_grace"))

    @property
    def max_output_size(self) -> int:
        """Characters of each captured stream kept per attempt (head and tail)."""
        return int(self.setting("max_output_size"))

    @property
    def store_url(self) -> str:
        """``--store``, then ``FLOWRUN_STORE``, then the config file, then the default.

        A store path given explicitly gets its own folder made if missing (as the
        default ``.flowrun/`` is), but not a chain of missing folders: a typo such as
        ``/nonexisting/runs/x.db`` is a usage error, not a new tree of directories.
        """
        url = self.options.get("store") or os.environ.get("FLOWRUN_STORE") \
            or self.ini.get("store")
        if not url:
            return "sqlite:///" + os.path.join(self.rootdir, DEFAULT_STORE_PATH)
        url = normalize_store_url(str(url), self.rootdir)
        if url.startswith("sqlite:///"):
            check_store_path(url[len("sqlite:///"):], str(self.options.get("store")
                             or os.environ.get("FLOWRUN_STORE") or self.ini.get("store")))
        return url

    @property
    def task_overrides(self) -> dict[str, Any]:
        """Task options set for every task by the config file and command line."""
        found = {}
        for name in ("retries", "timeout", "retry_delay", "cache"):
            value = self.getoption(name)
            if value is not None:
                found[name] = value
        return found


def check_store_path(path: str, given: str) -> None:
    """Raise ``UsageError`` if a store cannot live at ``path`` (see ``store_url``)."""
    folder = os.path.dirname(path)
    why = ""
    if not path or path.endswith(os.sep) or os.path.isdir(path):
        why = f"{path} is a directory; name a database file such as runs/flowrun.db"
    elif os.path.exists(path) and not os.path.isfile(path):
        why = f"{path} is not a regular file"
    elif os.path.exists(folder) and not os.path.isdir(folder):
        why = f"{folder} is not a directory"
    elif not os.path.isdir(folder) and not os.path.isdir(os.path.dirname(folder)):
        why = f"the folder {os.path.dirname(folder)} does not exist; create it first"
    if why:
        raise UsageError(f"store {redact_url(given)!r}: {why}")


def check_output_path(option: str, path: str) -> str:
    """The absolute path a report option (``--junitxml``) writes to; ``UsageError``
    before anything runs if no file can be written there. Missing folders are fine
    (they are made, as pytest does); a file or an unwritable folder in the way is not."""
    full = os.path.abspath(path) if path else ""
    if not path or os.path.isdir(full):
        raise UsageError(f"{option} {path!r}: is a directory; name a file to write")
    existing = os.path.dirname(full)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise UsageError(f"{option} {path!r}: {existing} is not a directory")
    if not os.access(existing, os.W_OK):
        raise UsageError(f"{option} {path!r}: the folder {existing} is not writable")
    return full


def normalize_store_url(url: str, rootdir: str) -> str:
    """Accept a bare path or ``sqlite:///path``; relative paths are under the rootdir."""
    if url.startswith("memory:") or ("://" in url and not url.startswith("sqlite://")):
        return url
    path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else url
    return "sqlite:///" + os.path.join(rootdir, os.path.expanduser(path))
