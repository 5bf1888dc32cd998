"""[plugin] Spec flows: ``flow_*.json`` / ``flow_*.yaml`` files holding a flow as data
(MissionControl's flow spec), whose tasks are calls of registered task types.

Task types come from every plugin's ``flowrun_task_types()``; the built-ins are here:
``print`` (msg), ``shell`` (cmd, cwd, env) and ``python`` (function, params). A later
plugin (an installed one, ``-p NAME``, ``flowconf.py``) can add or replace a type.
"""
from __future__ import annotations

import fnmatch
import importlib
import json
import os
import sys
from typing import Any, Callable

from flowrun.plugin import CollectError, Flow, blake2b, hookimpl, task_source_hash

#: What ``spec_files`` (in ``[tool.flowrun]``) defaults to.
DEFAULT_SPEC_FILES = ("flow_*.json", "flow_*.yaml", "flow_*.yml")
#: Lines of a failed command's output quoted in the task's error.
OUTPUT_TAIL = 20


class CommandFailed(Exception):
    """A ``shell`` task's command exited non-zero."""


# -- the built-in task types -------------------------------------------------------------

def print_task(msg: Any = "") -> None:
    """Print ``msg`` (MissionControl's ``print`` task)."""
    print(msg)


def shell_task(cmd: str | list[str], cwd: str | None = None,
               env: dict[str, Any] | None = None) -> None:
    """Run ``cmd`` (a string for the shell, or an argv list); its output is the task's
    output, and a non-zero exit fails the task with the code and the output's tail."""
    import subprocess  # only a shell task pays for it, not every collection

    full_env = {**os.environ, **{str(k): str(v) for k, v in (env or {}).items()}}
    proc = subprocess.run(cmd, shell=isinstance(cmd, str), cwd=cwd, env=full_env,
                          capture_output=True, text=True)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).rstrip().splitlines()[-OUTPUT_TAIL:]
        shown = "".join(f"\n    {line}" for line in tail)
        raise CommandFailed(f"command {cmd!r} exited with {proc.returncode}"
                            + (f"; output:{shown}" if shown else ""))


def python_task(function: str | Callable[..., Any], params: dict[str, Any] | None = None
                ) -> Any:
    """Call ``module:function`` with ``params``; its return value is the result."""
    target = function if callable(function) else _import_function(function)
    return target(**(params or {}))


def _import_function(function: Any) -> Callable[..., Any]:
    module_name, sep, name = function.partition(":") if isinstance(function, str) \
        else ("", "", "")
    if not sep:
        raise ValueError(f"python task: function must look like 'module:function', "
                         f"not {function!r}")
    target: Any = sys.modules.get(module_name) or importlib.import_module(module_name)
    for part in name.split("."):
        target = getattr(target, part)
    return target


def _resolve_python_params(function: Any = None, **rest: Any) -> dict[str, Any]:
    """Before a ``python`` task is shipped to another process: its function imported
    here (beside the spec), so it travels by value like flow code; a name that does not
    import is left for the task to fail on, with its own error."""
    try:
        return {"function": _import_function(function), **rest}
    except Exception:  # noqa: BLE001 - reported by the task itself when it runs
        return {"function": function, **rest}


python_task.resolve_params = _resolve_python_params  # type: ignore[attr-defined]


@hookimpl
def flowrun_task_types() -> dict[str, Any]:
    return {"print": print_task, "shell": shell_task, "python": python_task}


# -- collection ----------------------------------------------------------------------------

@hookimpl(trylast=True)
def flowrun_collect_file(path: str, config: Any) -> list[Flow] | None:
    patterns = getattr(config, "spec_files", DEFAULT_SPEC_FILES)
    name = os.path.basename(path)
    if not any(fnmatch.fnmatch(name, p) for p in patterns):
        return None
    flow_id = os.path.relpath(path, config.rootdir).replace(os.sep, "/")
    return [load_spec_flow(path, flow_id, task_types(config))]


def task_types(config: Any) -> dict[str, Any]:
    """Every registered type; a later-registered plugin's type wins over a built-in."""
    found: dict[str, Any] = {}
    for types in reversed(config.hook.flowrun_task_types()):  # pluggy: newest first
        found.update(types or {})
    return found


def load_spec_flow(path: str, flow_id: str, types: dict[str, Any]) -> Flow:
    """Read, check and build one spec flow; raise ``CollectError`` naming file and key."""
    data = _read(path, flow_id)
    try:
        flow = Flow.from_dict(data, types)
    except (ValueError, TypeError) as exc:
        raise CollectError(f"{flow_id}: {exc}", where=flow_id) from None
    flow.id, flow.path = flow_id, path
    directory = os.path.dirname(path)
    if directory not in sys.path:  # so `python` tasks import helpers beside the spec
        sys.path.insert(0, directory)
    for task in flow.tasks.values():
        task.flow_id = flow_id
        task.source_hash = _spec_hash(task.task_type, task.task_params, types)
    return flow


def _read(path: str, flow_id: str) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise CollectError(f"{flow_id}: cannot read: {exc.strerror}", where=flow_id) from None
    except UnicodeDecodeError as exc:
        raise CollectError(f"{flow_id}: not valid UTF-8 (byte {exc.start}); save the file "
                           "as UTF-8", where=flow_id) from None
    try:
        return _parse(path, text, flow_id)
    except RecursionError:
        raise CollectError(f"{flow_id}: nested too deeply to read", where=flow_id) from None


def _parse(path: str, text: str, flow_id: str) -> Any:
    if path.endswith(".json"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise CollectError(f"{flow_id}:{exc.lineno}: bad JSON: {exc.msg}",
                               where=flow_id) from None
        except ValueError as exc:  # e.g. an integer longer than Python reads
            raise CollectError(f"{flow_id}: bad JSON: {exc}", where=flow_id) from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CollectError(f"{flow_id}{line}: bad YAML: {problem}", where=flow_id) from None


def _spec_hash(task_type: str, params: dict[str, Any], types: dict[str, Any]) -> str:
    """What "the code" of a spec task is: its type's code and its parameters, so
    ``explain`` and ``--resume`` see either change."""
    text = json.dumps([task_type, params], sort_keys=True, default=repr)
    text += task_source_hash(types.get(task_type)) if types.get(task_type) else ""
    return blake2b(text.encode(), digest_size=12).hexdigest()
