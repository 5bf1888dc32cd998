"""The one declared schema of ``[tool.flowrun]`` / ``flowrun.toml``: key -> kind, range,
meaning. Checked when the file is read, so a wrong key is one line naming the file and
the key (exit 4) before anything runs, never a crash half-way through a run.

Plugins' tables (``[tool.flowrun.dask]``) and the options plugins add to the command line
are declared by their owners (``parser.addini`` / ``parser.addoption``); a key nobody
declares is an error with a "did you mean". A table declared with its keys
(``parser.addini("dask", help, keys={"n_workers": {"kind": "int", "minimum": 1}})``) is
checked here too, by the same rules, at the start of every command.
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

from flowrun.errors import ConfigError

#: The longest wait any setting may ask for (a year): longer ones overflow timers.
MAX_SECONDS = 365 * 24 * 3600.0


class Key(NamedTuple):
    """One config key: its kind (see ``_CHECKS``), the smallest value, what it means.
    (A named tuple: a frozen dataclass costs every command ~0.7 ms to make.)"""

    kind: str
    help: str
    minimum: float = 0
    open_min: bool = False  # the minimum itself is not allowed
    maximum: float = math.inf


KEYS: dict[str, Key] = {
    "flowpaths": Key("strings", "folders searched for flows (default: the rootdir)"),
    "python_files": Key("strings", "patterns of Python flow files (default flow_*.py)"),
    "spec_files": Key("strings", "patterns of spec flow files (default flow_*.json/yaml)"),
    "watch_ignore": Key("strings", "patterns whose changes --watch ignores"),
    "plugins": Key("strings", "plugin modules to load, as -p NAME"),
    "store": Key("name", "where runs are kept (a path or a store URL)"),
    "executor": Key("name", "the default executor (thread, process, ssh, ...)"),
    "workers": Key("int", "tasks at once", minimum=1, maximum=10_000),
    "limits": Key("limits", "concurrency groups: {name = slots}"),
    "retries": Key("int", "extra attempts after a failure, for every task",
                   maximum=10_000),
    "retry_delay": Key("seconds", "seconds before the first retry", maximum=MAX_SECONDS),
    "retry_backoff": Key("number", "multiplier for each next retry delay", open_min=True,
                         maximum=1000),
    "timeout": Key("seconds", "seconds an attempt may take", open_min=True,
                   maximum=MAX_SECONDS),
    "interrupt_grace": Key("seconds", "seconds running tasks get after Ctrl-C "
                           "(default 10)", maximum=MAX_SECONDS),
    "max_output_size": Key("int", "bytes of output kept per stream and attempt "
                           "(default 1 MiB)", minimum=1),
    "max_result_size": Key("int", "bytes a stored result may take", minimum=1),
    "result_file_threshold": Key("int", "results larger than this many bytes are kept "
                                 "in files beside the store"),
    "cache": Key("cache", "cache every task (true) or with an expiry (\"12h\"); "
                 "a task's cache=False opts out"),
    "lease_interval": Key("seconds", "seconds between a running session's lease renewals "
                          "on a shared store (default 10)", open_min=True,
                          maximum=MAX_SECONDS),
    "lease_timeout": Key("seconds", "seconds without a renewal after which a shared "
                         "store's run is interrupted (default 60)", open_min=True,
                         maximum=MAX_SECONDS),
    "reconnect_timeout": Key("seconds", "seconds a run waits for a lost store connection "
                             "(default 60)", maximum=MAX_SECONDS),
    "ssh": Key("table", "the ssh executor's settings ([tool.flowrun.ssh])"),
    # command-line options that may also be set here (``config.getoption`` reads both)
    "exitfirst": Key("bool", "stop after the first failure (-x)"),
    "keyword": Key("text", "the -k expression"),
    "markexpr": Key("text", "the -m expression"),
    "verbose": Key("int", "verbosity (-v)", maximum=10),
    "quiet": Key("int", "quietness (-q)", maximum=10),
    "param": Key("strings", "flow parameters, as --param K=V"),
}

#: Defaults of keys whose users read them through ``Config.setting``.
DEFAULTS: dict[str, Any] = {"interrupt_grace": 10.0, "max_output_size": 1024 * 1024,
                            "lease_interval": 10.0, "lease_timeout": 60.0,
                            "reconnect_timeout": 60.0}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _in_range(value: Any, key: Key) -> bool:
    if isinstance(value, float) and math.isnan(value):
        return False
    low_ok = value > key.minimum if key.open_min else value >= key.minimum
    return low_ok and value <= key.maximum


def _range_text(key: Key) -> str:
    low = f"> {_num(key.minimum)}" if key.open_min else f">= {_num(key.minimum)}"
    return low if key.maximum == math.inf else f"{low} and <= {_num(key.maximum)}"


def _check_strings(value: Any, key: Key) -> str | None:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) and i for i in items):
        return "expected a string or a list of non-empty strings"
    return None


def _check_limits(value: Any, key: Key) -> str | None:
    if not isinstance(value, dict):
        return "expected a table {name = slots}"
    for name, slots in value.items():
        if not isinstance(slots, int) or isinstance(slots, bool) or not 1 <= slots <= 10**6:
            return f"group '{name}' = {slots!r}: expected a whole number of slots >= 1"
    return None


def _check_scalar(value: Any, key: Key) -> str | None:
    kind = key.kind
    if kind == "int" and (not isinstance(value, int) or isinstance(value, bool)):
        return f"expected a whole number {_range_text(key)}"
    if kind in ("seconds", "number") and not _is_number(value):
        return f"expected {'seconds' if kind == 'seconds' else 'a number'} {_range_text(key)}"
    if kind in ("int", "seconds", "number") and not _in_range(value, key):
        return f"expected {_range_text(key)}"
    if kind == "list" and not isinstance(value, list):
        return "expected a list"
    if kind == "bool" and not isinstance(value, bool):
        return "expected true or false"
    if kind in ("name", "text") and not isinstance(value, str):
        return "expected a string"
    if kind == "name" and not value.strip():
        return "expected a non-empty string"
    if kind == "table" and not isinstance(value, dict):
        return f"expected a table ([tool.flowrun.{'KEY'}])"
    if kind == "table" and "hosts" in value and not isinstance(value["hosts"], list):
        return "hosts: expected a list of host aliases"  # ssh.hosts (API section 6)
    return None


def _check_cache(value: Any, key: Key) -> str | None:
    from flowrun.option_checks import cache_ok  # one rule for config and @task

    return None if cache_ok(value) else CACHE_EXPECTED


CACHE_EXPECTED = 'expected true, false or an expiry such as "12h", "7d", "30m", "45s"'


def _check_duration(value: Any, key: Key) -> str | None:
    if parse_duration(value) is None:
        return "expected seconds or a duration such as '45s', '15m', '12h', '7d'"
    return None


def parse_duration(value: Any) -> float | None:
    """Seconds from a number or ``"45s"``/``"15m"``/``"12h"``/``"7d"``; None if neither."""
    if isinstance(value, str) and value[-1:] in _UNITS and value[:-1].strip().isdigit():
        return int(value[:-1]) * _UNITS[value[-1]]
    if _is_number(value) and 0 <= value <= MAX_SECONDS and not math.isnan(value):
        return float(value)
    return None


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_CHECKS = {"strings": _check_strings, "limits": _check_limits, "cache": _check_cache,
           "duration": _check_duration}
#: Every kind a key may have (``Key.kind``).
KINDS = ("int", "seconds", "number", "bool", "name", "text", "strings", "limits", "list",
         "table", "cache", "duration")


def check(settings: dict[str, Any], path: str, table: str) -> None:
    """Raise ``ConfigError`` for the first key of a declared kind with a wrong value."""
    for name, value in settings.items():
        key = KEYS.get(name)
        if key is None:
            continue
        why = _CHECKS.get(key.kind, _check_scalar)(value, key)
        if why:
            why = why.replace("KEY", name)
            raise ConfigError(f"{path}: {_where(table, name)} = {_show(value)}: {why}")


def check_known(settings: dict[str, Any], path: str, table: str,
                declared: set[str]) -> None:
    """Raise ``ConfigError`` for a key neither the schema nor a plugin declares."""
    _check_names(settings, path, table, set(KEYS) | declared,
                 " (the README's Configuration section lists the keys)")


def _check_names(settings: dict[str, Any], path: str, table: str, known: set[str],
                 otherwise: str) -> None:
    for name in settings:
        if name not in known:
            import difflib  # only a mistake pays for it

            close = difflib.get_close_matches(str(name), sorted(known), n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else otherwise
            raise ConfigError(f"{path}: unknown key {_where(table, name)}{hint}")


def as_key(spec: Key | str | dict[str, Any]) -> Key:
    """A declared key from what a plugin wrote: a ``Key``, a kind (``"int"``), or the
    fields of a ``Key`` as a dict (``{"kind": "int", "minimum": 1}``)."""
    key = spec if isinstance(spec, Key) else Key(spec, "") if isinstance(spec, str) \
        else Key(**{"help": "", **spec})
    if key.kind not in KINDS:
        raise ValueError(f"unknown kind {key.kind!r} of a config key (kinds: "
                         f"{', '.join(KINDS)})")
    return key


def check_table(value: Any, path: str, parent: str, name: str,
                keys: dict[str, Key]) -> None:
    """Raise ``ConfigError`` for a plugin's table (``[tool.flowrun.dask]``) that is not a
    table, holds a key its plugin did not declare, or a value of the wrong kind."""
    table = f"{parent[:-1]}.{name}]" if parent else f"[{name}]"
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for item in value:  # an array of tables: [[tool.flowrun.notify]]
            check_table(item, path, parent, name, keys)
        return
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: {_where(parent, name)} = {_show(value)}: expected a "
                          f"table ({table})")
    _check_names(value, path, table, set(keys), f" (known: {', '.join(sorted(keys))})")
    for name, item in value.items():
        key = keys[name]
        why = _CHECKS.get(key.kind, _check_scalar)(item, key)
        if why:
            raise ConfigError(f"{path}: {_where(table, name)} = {_show(item)}: {why}")


def _where(table: str, name: str) -> str:
    return f"{table} {name}" if table else name


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
