"""The plugin manager: built-ins, entry points, ``-p`` and ``flowconf.py``, in the order
that lets every later source override an earlier one (pluggy asks the newest first).
"""
from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import os
import re
import sys
from typing import Any, Callable, Iterable

import pluggy

from flowrun import hookspecs, trust
from flowrun.builtin_plugins import register_builtins
from flowrun.entry_points import EntryPoint, entry_points
from flowrun.errors import FlowrunError, PluginError, Skipped, StopSignal
from flowrun.hookspecs import PROJECT

LOCAL_PLUGIN = "flowconf.py"
MARKER = f"{PROJECT}_impl"  # the attribute @hookimpl sets
PLAIN_HOOK = {"wrapper": False, "hookwrapper": False, "optionalhook": False,
              "tryfirst": False, "trylast": False, "specname": None}


def split_plugin_args(args: Iterable[str]) -> tuple[list[str], list[str]]:
    """``-p`` values -> (names to load, names to block)."""
    load, block = [], []
    for value in args:
        if value == "no:":
            raise PluginError("-p no: needs the name of the plugin to block (-p no:NAME)")
        (block if value.startswith("no:") else load).append(value.removeprefix("no:"))
    return load, block


def make_plugin_manager(plugin_args: Iterable[str], rootdir: str,
                        ini_plugins: Iterable[str] = (),
                        inifile: str | None = None) -> pluggy.PluginManager:
    """Blocks first (so a blocked plugin's import never runs), then built-ins, entry
    points, ``plugins`` from the config, ``-p NAME``, ``flowconf.py``."""
    load, block = split_plugin_args(plugin_args)
    pm = pluggy.PluginManager(PROJECT)
    pm.deferred_errors = []  # type: ignore[attr-defined]  # see EVENT_HOOKS
    pm.add_hookspecs(hookspecs)
    for name in block:
        pm.set_blocked(name)
    register_builtins(pm)
    pm.entry_point_dists = {}  # type: ignore[attr-defined]  # name -> project
    for entry in entry_points(PROJECT):
        _guard(f"'{entry.name}'", "loading", lambda entry=entry: _load_entry_point(pm, entry))
    if (ini_plugins or load) and rootdir not in sys.path:
        sys.path.insert(0, rootdir)  # so a project's own plugin modules import by name
    for name in ini_plugins:
        _load_named(pm, name, f"{inifile or 'config'}: plugins")
    for name in load:
        _load_named(pm, name, "-p")
    _load_flowconf(pm, rootdir)
    check_hooks(pm)
    return pm


def _load_entry_point(pm: pluggy.PluginManager, entry: EntryPoint) -> None:
    """As pluggy's ``load_setuptools_entrypoints``: the first plugin of a name wins."""
    if pm.has_plugin(entry.name) or pm.is_blocked(entry.name):
        return
    pm.register(entry.load(), entry.name)
    pm.entry_point_dists[entry.name] = entry.dist  # type: ignore[attr-defined]


def _guard(plugin: str, what: str, action: Callable[[], Any]) -> Any:
    """Run ``action`` (an import, a registration); anything it raises, even
    ``SystemExit``, becomes one ``PluginError`` line naming the plugin."""
    try:
        return action()
    except (FlowrunError, StopSignal):
        raise
    except BaseException as exc:  # noqa: BLE001 - user code, SystemExit included
        raise plugin_error(plugin, what, exc) from None


def plugin_error(plugin: str, what: str, exc: BaseException) -> PluginError:
    """The one line for ``exc`` raised by ``plugin`` while ``what``, its traceback
    (without flowrun's frames) above it."""
    from flowrun.executors.attempt import format_user_error

    if isinstance(exc, pluggy.PluginValidationError):
        return PluginError(f"plugin {plugin}: {_plain(exc)}")
    detail, summary = format_user_error(exc)
    if not isinstance(exc, Exception):
        summary = f"{type(exc).__name__}({exc})"
    if what == "import":
        return PluginError(f"{plugin.strip(chr(39))}: error while importing: {summary}",
                           detail=detail)
    return PluginError(f"plugin {plugin}: {what} raised {summary}", detail=detail)


def _plain(exc: BaseException) -> str:
    """pluggy's message without the ``<module ...>`` repr of the plugin."""
    return re.sub(r"\s*in plugin <[^>]*>|\s*Plugin [^\n]*?\n", "", str(exc)).strip()


def check_hooks(pm: pluggy.PluginManager) -> None:
    """Every ``flowrun_*`` function of every plugin must be a hook flowrun has
    (typos get a "did you mean"); then pluggy's own argument checks."""
    known = [n for n in dir(pm.hook)
             if n.startswith("flowrun_") and getattr(pm.hook, n).spec is not None]
    for plugin in pm.get_plugins():
        label = getattr(plugin, "flowrun_user_plugin", None)
        for attr in dir(plugin) if isinstance(label, str) else ():
            opts = getattr(getattr(plugin, attr), MARKER, None)
            if attr.startswith("flowrun_") and attr not in known and opts is not None \
                    and not opts.get("optionalhook") and not opts.get("specname"):
                import difflib  # only a mistake pays for it

                close = difflib.get_close_matches(attr, known, n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise PluginError(f"plugin {label}: unknown hook {attr}{hint}")
    _guard("set", "checking hooks", pm.check_pending)


def _label(name: str) -> str:
    return LOCAL_PLUGIN if name == "flowconf" else f"'{name}'"


def _load_named(pm: pluggy.PluginManager, name: str, origin: str) -> None:
    if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", name):
        raise PluginError(f"{origin} {name!r}: not a plugin name (a module name such as "
                          "'my_plugin' or 'package.plugin')")
    if pm.is_blocked(name) or pm.get_plugin(name) is not None:
        return
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            raise PluginError(f"plugin '{name}' not found ({origin}): no installed plugin "
                              "or importable module has that name") from None
        raise plugin_error(f"'{name}'", "import", exc) from None
    except StopSignal:
        raise
    except BaseException as exc:  # noqa: BLE001 - user code, SystemExit included
        raise plugin_error(f"'{name}'", "import", exc) from None
    _guard(f"'{name}'", "registering", lambda: pm.register(guarded(module, name, pm.deferred_errors),
                                                             name))


def guarded(plugin: Any, name: str, deferred: list[PluginError] | None = None) -> Any:
    """A stand-in for a user plugin whose hook functions turn any exception they raise
    into a ``PluginError`` naming the plugin and the hook (wrappers stay as they are)."""
    proxy = _Guarded()
    proxy.__name__ = getattr(plugin, "__name__", name)
    proxy.flowrun_user_plugin = _label(name)
    for attr in dir(plugin):
        fn = getattr(plugin, attr, None)
        if not attr.startswith("flowrun_") or not inspect.isfunction(fn):
            continue
        opts = getattr(fn, MARKER, None)
        if opts and (opts.get("wrapper") or opts.get("hookwrapper")
                     or inspect.isgeneratorfunction(fn)):
            setattr(proxy, attr, fn)
            continue
        call = _guard_hook(fn, _label(name), attr,
                           deferred if attr in EVENT_HOOKS else None)
        if opts is None:  # like conftest.py: a plain flowrun_* function is a hook too
            setattr(call, MARKER, dict(PLAIN_HOOK))
        setattr(proxy, attr, call)
    return proxy


class _Guarded:
    """What ``guarded`` returns: the plugin's hooks as attributes (hashable, for pluggy)."""

    __name__: str
    flowrun_user_plugin: str


def _guard_hook(fn: Callable[..., Any], plugin: str, hook: str,
                deferred: list[PluginError] | None = None) -> Callable[..., Any]:
    """``fn`` raising only ``PluginError``s; with ``deferred``, the first error is kept
    there instead of raised (an event hook: the run goes on and is recorded)."""
    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        if deferred:
            return None  # this plugin already failed once: it is not called again
        try:
            result = fn(*args, **kwargs)
        except (FlowrunError, Skipped):
            raise
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - the plugin's code
            error = plugin_error(plugin, hook, exc)
            if deferred is None:
                raise error from None
            deferred.append(error)
            return None
        check = RESULTS.get(hook)
        if check is not None and not check[0](result, *args, *kwargs.values()):
            shown = repr(result)[:60]
            raise PluginError(f"plugin {plugin}: {hook} returned {shown}: expected {check[1]}")
        return result
    return call


def _flows(value: Any) -> bool:
    from flowrun.model import Flow

    return isinstance(value, list) and all(isinstance(f, Flow) for f in value)


def _named_callables(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and callable(v)
                                           for k, v in value.items())


#: Events reported while the engine runs: a failing one must not leave a run half
#: recorded, so its error is raised when the session is over (``raise_deferred``).
EVENT_HOOKS = frozenset({"flowrun_run_start", "flowrun_task_start", "flowrun_task_finish",
                         "flowrun_run_finish"})


def raise_deferred(pm: Any) -> None:
    """Raise the first error an event hook of a user plugin kept back, if any."""
    errors = getattr(pm, "deferred_errors", None)
    if errors:
        raise errors[0]


#: What some hooks must return (checked for user plugins): hook -> (test, expected).
RESULTS: dict[str, tuple[Callable[..., bool], str]] = {
    "flowrun_collect_file": (lambda r, *a: r is None or _flows(r),
                             "None or a list of Flow objects"),
    "flowrun_collection_modifyitems": (lambda r, *a: all(_flows(x) for x in a if isinstance(x, list)),
                                       "flows left a list of Flow objects"),
    "flowrun_task_types": (lambda r, *a: r is None or _named_callables(r),
                           "a dict of task type name -> function"),
    "flowrun_commands": (lambda r, *a: r is None or isinstance(r, dict) and all(
        isinstance(k, str) for k in r), "a dict of command name -> (summary, factory)"),
    "flowrun_make_executor": (lambda r, *a: r is None or callable(getattr(r, "submit", None)),
                              "None or an executor (see flowrun.plugin.Executor)"),
    "flowrun_make_storage": (lambda r, *a: r is None or callable(getattr(r, "close", None)),
                             "None or a storage backend"),
}


def _load_flowconf(pm: pluggy.PluginManager, rootdir: str) -> None:
    path = os.path.join(rootdir, LOCAL_PLUGIN)
    if not os.path.isfile(path) or pm.is_blocked("flowconf"):
        return
    why = trust.distrust(rootdir, path)  # a rootdir that is only the current folder
    if why is not None:
        trust.warn(path, why)
        return
    spec = importlib.util.spec_from_file_location("flowconf", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    if rootdir not in sys.path:
        sys.path.insert(0, rootdir)
    _guard(LOCAL_PLUGIN, "import", lambda: spec.loader.exec_module(module))
    sys.modules["flowconf"] = module
    _guard(LOCAL_PLUGIN, "registering", lambda: pm.register(
        guarded(module, "flowconf", pm.deferred_errors), "flowconf"))
