"""The plugin manager: built-ins, entry points, ``-p`` and ``flowconf.py``, in the order
that lets every later source override an earlier one (pluggy asks the newest first).
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Iterable

import pluggy

from flowrun import hookspecs
from flowrun.errors import PluginError, UsageError
from flowrun.hookspecs import PROJECT

#: Built-in plugins: (name for -p no:NAME, module).
BUILTINS = (
    ("runner", "flowrun.executors.task_call"),
    ("commands", "flowrun.cli.commands"),
    ("python", "flowrun.collect.python"),
    ("specs", "flowrun.collect.specs"),
    ("resume", "flowrun.resume"),
    ("scheduling", "flowrun.schedules.due"),
    ("thread", "flowrun.executors.thread"),
    ("process", "flowrun.executors.process"),
    ("ssh", "flowrun.executors.ssh"),
    ("sqlite", "flowrun.storage.sqlite"),
    ("terminal", "flowrun.reporters.terminal"),
    ("junitxml", "flowrun.reporters.junitxml"),
    ("json-report", "flowrun.reporters.json_report"),
)
LOCAL_PLUGIN = "flowconf.py"


def split_plugin_args(args: Iterable[str]) -> tuple[list[str], list[str]]:
    """``-p`` values -> (names to load, names to block)."""
    load, block = [], []
    for value in args:
        (block if value.startswith("no:") else load).append(value.removeprefix("no:"))
    return load, block


def make_plugin_manager(plugin_args: Iterable[str], rootdir: str,
                        ini_plugins: Iterable[str] = ()) -> pluggy.PluginManager:
    """Blocks first (so a blocked plugin's import never runs), then built-ins, entry
    points, ``plugins`` from the config, ``-p NAME``, ``flowconf.py``."""
    load, block = split_plugin_args(plugin_args)
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    for name in block:
        pm.set_blocked(name)
    for name, module in BUILTINS:
        if not pm.is_blocked(name):
            pm.register(importlib.import_module(module), name)
    pm.load_setuptools_entrypoints(PROJECT)
    if (ini_plugins or load) and rootdir not in sys.path:
        sys.path.insert(0, rootdir)  # so a project's own plugin modules import by name
    for name in [*ini_plugins, *load]:
        _load_named(pm, name)
    _load_flowconf(pm, rootdir)
    pm.check_pending()
    return pm


def _load_named(pm: pluggy.PluginManager, name: str) -> None:
    if pm.is_blocked(name) or pm.get_plugin(name) is not None:
        return
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            raise UsageError(f"plugin '{name}' not found: no installed plugin or "
                             "importable module has that name") from None
        raise
    pm.register(module, name)


def _load_flowconf(pm: pluggy.PluginManager, rootdir: str) -> None:
    path = os.path.join(rootdir, LOCAL_PLUGIN)
    if not os.path.isfile(path) or pm.is_blocked("flowconf"):
        return
    spec = importlib.util.spec_from_file_location("flowconf", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    if rootdir not in sys.path:
        sys.path.insert(0, rootdir)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - the user's code; shown without our frames
        from flowrun.executors.attempt import format_user_error

        detail, summary = format_user_error(exc)
        raise PluginError(f"{LOCAL_PLUGIN}: error while importing: {summary}",
                          detail=detail) from None
    sys.modules["flowconf"] = module
    pm.register(module, "flowconf")
