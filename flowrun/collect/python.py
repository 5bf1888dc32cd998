"""[plugin] Python flow files: ``flow_*.py`` -> ``Flow`` objects.

Modules are imported the way pytest imports test modules: the file's directory goes on
``sys.path`` (so helpers beside it import), then the rootdir (so the project's own
packages import), and each file gets a module name derived from its path, so two
``flow_x.py`` in different folders never clash.
"""
from __future__ import annotations

import fnmatch
import importlib.util
import os
import re
import sys
import threading
import traceback
from typing import Any

from flowrun.plugin import (
    CollectError,
    Flow,
    Task,
    TaskDef,
    TaskOptions,
    format_user_error,
    hookimpl,
    record_task_defs,
)

MODULE_PREFIX = "flowrun_flows"


@hookimpl(trylast=True)
def flowrun_collect_file(path: str, config: Any) -> list[Flow] | None:
    patterns = config.python_files
    name = os.path.basename(path)
    if not name.endswith(".py") or not any(fnmatch.fnmatch(name, p) for p in patterns):
        return None
    return [load_flow(path, config.rootdir)]


def flow_id_for(path: str, rootdir: str) -> str:
    """The flow id: the path relative to the rootdir, with forward slashes."""
    rel = os.path.relpath(path, rootdir)
    return rel.replace(os.sep, "/")


def module_name_for(flow_id: str) -> str:
    stem = flow_id[:-3] if flow_id.endswith(".py") else flow_id
    parts = [re.sub(r"\W", "_", p) or "_" for p in stem.split("/") if p not in ("", ".")]
    return ".".join([MODULE_PREFIX, *["up" if p == "__" else p for p in parts]])


def load_flow(path: str, rootdir: str) -> Flow:
    """Import one flow file and gather its flow and tasks; raise ``CollectError``."""
    flow_id = flow_id_for(path, rootdir)
    module, created = _import(path, flow_id, rootdir)
    found = [v for v in vars(module).values() if _is_a(v, Flow)]
    if len(set(map(id, found))) > 1:
        raise CollectError(f"{flow_id}: more than one Flow(...) in the module; "
                           "a flow file declares at most one", where=flow_id)
    flow = found[0] if found else Flow()
    _check_flow_object(flow, flow_id)
    flow.id, flow.path, flow.module = flow_id, path, module
    flow.tasks = _gather_tasks(module, created, flow)
    return flow


def _is_a(value: Any, cls: type) -> bool:
    """``isinstance`` that asks only the real type: an object of the user's whose
    ``__getattribute__`` raises (or lies about ``__class__``) is simply not one."""
    return issubclass(type(value), cls)


def _import(path: str, flow_id: str, rootdir: str) -> tuple[Any, list[TaskDef]]:
    for directory in (rootdir, os.path.dirname(path)):  # the flow's folder comes first
        if directory not in sys.path:
            sys.path.insert(0, directory)
    saved_path, threads = list(sys.path), set(threading.enumerate())
    try:
        found = _exec(path, flow_id, rootdir)
    except BaseException:
        _restore_sys_path(saved_path)
        raise
    finally:
        _mark_new_threads(threads, flow_id)
    damage = _restore_sys_path(saved_path)
    if damage:
        raise CollectError(f"{flow_id}: importing it {damage}; add to sys.path, never "
                           "remove its entries or replace it", where=flow_id)
    return found


def _mark_new_threads(before: set[threading.Thread], flow_id: str) -> None:
    """Note on each thread the import started that this file started it, so the
    ``flowrun`` command can name the file if the thread outlives the run."""
    for thread in set(threading.enumerate()) - before:
        try:
            # read by flowrun.cli.threads (STARTED_BY), which collection may not import
            thread.flowrun_started_by = flow_id  # type: ignore[attr-defined]
        except (AttributeError, TypeError):  # a Thread subclass with __slots__, say
            pass


def _restore_sys_path(saved: list[str]) -> str | None:
    """What the module did to ``sys.path`` (None: nothing harmful). Replaced by a
    non-list or stripped of entries (the standard library's among them), it would break
    every later import, flowrun's own too: the entries are put back."""
    current = getattr(sys, "path", None)
    if not isinstance(current, list):
        sys.path = saved
        return f"replaced sys.path by {type(current).__name__}"
    missing = [p for p in saved if p not in current]
    current.extend(missing)
    return "removed entries from sys.path" if missing else None


def _exec(path: str, flow_id: str, rootdir: str) -> tuple[Any, list[TaskDef]]:
    name = module_name_for(flow_id)
    _ensure_parents(name)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    created: list[TaskDef] = []
    previous = record_task_defs(created)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        detail = "".join(traceback.format_exception_only(exc))
        where = flow_id
        if exc.filename and os.path.abspath(exc.filename) != os.path.abspath(path):
            where = f"{flow_id}: in {os.path.relpath(exc.filename, rootdir)}"  # a helper's
        raise CollectError(f"{where}:{exc.lineno}: syntax error: {exc.msg}",
                           where=flow_id, detail=detail) from None
    except BaseException as exc:  # noqa: BLE001 - anything the module raises
        sys.modules.pop(name, None)
        if isinstance(exc, KeyboardInterrupt):
            raise
        detail, summary = format_user_error(exc)
        raise CollectError(f"{flow_id}: error while importing: {summary}",
                           where=flow_id, detail=detail) from None
    finally:
        record_task_defs(previous)
    return module, created


def _ensure_parents(name: str) -> None:
    """Register empty namespace parents so pickle can look the flow module up by name."""
    import types

    parts = name.split(".")
    for i in range(1, len(parts)):
        parent = ".".join(parts[:i])
        if parent not in sys.modules:
            package = types.ModuleType(parent)
            package.__path__ = []  # a namespace with nothing to import from disk
            sys.modules[parent] = package


def _gather_tasks(module: Any, created: list[TaskDef], flow: Flow) -> dict[str, Task]:
    """Tasks defined in the module (in definition order), then tasks it imported."""
    imported = (v for v in vars(module).values() if _is_a(v, TaskDef))
    defs = list(dict.fromkeys([*created, *imported]))  # a set's speed, the list's order
    tasks: dict[str, Task] = {}
    for taskdef in defs:
        _check_taskdef(taskdef, flow.id)
        if taskdef.name in tasks:
            line = getattr(taskdef.fn, "__code__", None)
            at = f" (line {line.co_firstlineno})" if line else ""
            raise CollectError(f"{flow.id}: two tasks are named '{taskdef.name}'{at}; "
                               "task names must be unique in a flow", where=flow.id)
        tasks[taskdef.name] = Task(
            flow_id=flow.id, name=taskdef.name, fn=taskdef.fn,
            options=taskdef.options.merged(flow.task_defaults))
    return tasks


#: What ``Flow(...)`` always turns these into, whatever it was given.
FLOW_SHAPES = {"tags": tuple, "after": tuple, "task_defaults": dict}


def _check_flow_object(flow: Flow, flow_id: str) -> None:
    """A ``Flow(...)`` the module changed afterwards: an attribute deleted, or one of
    ``FLOW_SHAPES`` set to something else, is a collection error (the values themselves
    are checked with the flow's options)."""
    fields = vars(flow)
    for name in vars(Flow()):
        if name not in fields:
            wrong = f"its attribute {name} was deleted"
        elif name in FLOW_SHAPES and not _is_a(fields[name], FLOW_SHAPES[name]):
            wrong = f"its attribute {name} was changed to {_shown(fields[name])}"
        else:
            continue
        raise CollectError(f"{flow_id}: {wrong} after Flow(...); set the flow up with "
                           "Flow(...) keywords and leave the object as it is", where=flow_id)


#: Options ``@task(...)`` turns into tuples: one changed afterwards is no longer one.
TUPLE_OPTIONS = ("tags", "after", "limit", "hosts")


def _check_taskdef(taskdef: TaskDef, flow_id: str) -> None:
    """A ``@task`` object the module changed after decoration (its function, name or
    options set to something else, or deleted) is a collection error naming the task."""
    fields = vars(taskdef)
    fn, name, options = (fields.get(k) for k in ("fn", "name", "options"))
    label = name if type(name) is str else getattr(fn, "__name__", None)
    where = f"{flow_id}::{label}" if type(label) is str else flow_id
    if not callable(fn):
        wrong = f"its function was replaced by {_shown(fn)}"
    elif not _is_a(options, TaskOptions):
        wrong = f"its options were replaced by {_shown(options)}"
    elif type(name) is not str:
        wrong = f"bad option name={_shown(name)}: expected a string"
    elif changed := [o for o in TUPLE_OPTIONS if type(getattr(options, o)) is not tuple]:
        wrong = f"its option {changed[0]} was changed to {_shown(getattr(options, changed[0]))}"
    else:
        return
    raise CollectError(f"{where}: {wrong}; set a task up with @task(...) and leave the "
                       "object it returns as it is", where=where)


def _shown(value: Any) -> str:
    """``repr`` for a message: short, and never the user's ``__repr__`` raising."""
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a user's __repr__ may raise anything
        text = f"a {type(value).__name__}"
    return text if len(text) <= 60 else text[:57] + "..."
