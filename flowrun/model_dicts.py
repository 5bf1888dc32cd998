"""Flows as data (API section 8): a flow to MissionControl's dict shape and back; a
run as the JSON ``history --json`` and ``--report-json`` share.

``Flow.to_dict()`` and ``Flow.from_dict()`` call these; spec files (flow_*.json/yaml)
are read through ``flow_from_dict``.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

from flowrun.model import (OVERRIDABLE_OPTIONS, PENDING, SUCCEEDED, Flow, Run, Task,
                           TaskOptions)

ROOT = "ROOT"  # MissionControl's pseudo-task every first task hangs from
_FLOW_CFG = {"schedule": None, "tags": [], "limits": {}, "timezone": None,
             "catchup": "latest", "overlap": "skip"}
_TASK_OPTIONS = ("retries", "retry_delay", "retry_backoff", "timeout", "run_if",
                 "executor", "tags", "limit", "hosts", "each")
_STATUS_WORDS = ("PENDING", "RUNNING", "COMPLETED", "FAILED", "SKIPPED", "CACHED",
                 "CANCELLED")
#: Top-level fields of a spec (MissionControl's serialized flow and the short form;
#: ``schema`` is the name ``flowrun graph --format json`` gives its output).
_FLOW_FIELDS = ("cfg", "data", "depth", "graph", "key", "label", "num_tickable_tasks",
                "parent_key", "schema", "status", "tasks")
_TASK_FIELDS = {"key", "task_type", "task_params", "precursors", "successors", "status",
                *_TASK_OPTIONS}


class TypedCall:
    """A spec task's function: its task type called with its ``task_params``.

    A class (not a closure) so it pickles whenever the type does: any executor runs it.
    """

    def __init__(self, task_type: str, fn: Callable[..., Any] | None,
                 params: dict[str, Any]) -> None:
        self.task_type, self.type_fn, self.params = task_type, fn, params

    def for_shipping(self) -> TypedCall:
        """What a worker elsewhere gets: the type's ``resolve_params`` (if it has one)
        turns names into objects here, where the project is importable, so they travel
        by value (the ``python`` type's ``module:function``)."""
        resolve = getattr(self.type_fn, "resolve_params", None)
        if resolve is None:
            return self
        return TypedCall(self.task_type, self.type_fn, resolve(**self.params))

    def __call__(self) -> Any:
        if self.type_fn is None:
            raise LookupError(f"no task type {self.task_type!r} is registered")
        return self.type_fn(**self.params)

    def __repr__(self) -> str:
        return f"<{self.task_type} task {self.params!r}>"


def _mc_status(status: str) -> str:
    return "COMPLETED" if status == SUCCEEDED else status.upper()


def _task_to_dict(task: Task, status: str) -> dict[str, Any]:
    params = dict(task.task_params)
    if task.task_type == "python" and not params:
        fn = task.fn
        params = {"function": f"{getattr(fn, '__module__', '?')}:"
                              f"{getattr(fn, '__qualname__', repr(fn))}"}
        if task.params:
            params["params"] = dict(task.params)
    entry = {"key": task.name, "precursors": list(task.upstream) or [ROOT],
             "status": _mc_status(status), "task_params": params,
             "task_type": task.task_type}
    default = TaskOptions()
    for name in _TASK_OPTIONS:
        value = getattr(task.options, name)
        if value != getattr(default, name):
            entry[name] = list(value) if isinstance(value, tuple) else value
    return entry


def flow_to_dict(flow: Flow, statuses: dict[str, str]) -> dict[str, Any]:
    tasks: dict[str, dict[str, Any]] = {ROOT: {"key": ROOT, "status": "COMPLETED"}}
    edges = []
    for task in flow.tasks.values():
        entry = tasks[task.name] = _task_to_dict(task, statuses.get(task.name, PENDING))
        edges += [{"dest_key": task.name, "src_key": p} for p in entry["precursors"]]
    cfg: dict[str, Any] = {"fail_fast": flow.fail_fast}
    current = {"schedule": flow.schedule, "tags": list(flow.tags), "limits": flow.limits,
               "timezone": flow.timezone, "catchup": flow.catchup, "overlap": flow.overlap}
    cfg.update({k: v for k, v in current.items() if v != _FLOW_CFG[k]})
    cfg.update(flow.task_defaults)
    out = {"cfg": cfg, "data": dict(flow.data), "depth": 0,
           "graph": {"edges": edges, "tasks": tasks}, "label": flow.name or flow.id or None,
           "num_tickable_tasks": _tickable(tasks), "parent_key": None,
           "status": _overall([t["status"] for k, t in tasks.items() if k != ROOT])}
    key = flow.key or flow.id
    if key:
        out["key"] = key
    return out


def _tickable(tasks: dict[str, dict[str, Any]]) -> int:
    """MissionControl's count: running tasks plus pending ones whose precursors are done."""
    done = {k for k, t in tasks.items() if t["status"] in ("COMPLETED", "CACHED")}
    return sum(1 for k, t in tasks.items() if k != ROOT and (
        t["status"] == "RUNNING" or t["status"] == "PENDING"
        and all(p in done for p in t.get("precursors", ()))))


def _overall(words: list[str]) -> str:
    if not words or all(w == "PENDING" for w in words):
        return "PENDING"
    if any(w in ("FAILED", "CANCELLED") for w in words):
        return "FAILED"
    if all(w in ("COMPLETED", "CACHED", "SKIPPED") for w in words):
        return "COMPLETED"
    return "RUNNING"


def flow_from_dict(cls: type[Flow], data: Any, types: dict[str, Any] | None) -> Flow:
    if not isinstance(data, dict):
        raise ValueError(f"a flow spec is a mapping, not {type(data).__name__}")
    unknown = sorted(str(k) for k in set(data) - set(_FLOW_FIELDS))
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r}" + _hint(unknown[0], list(_FLOW_FIELDS)))
    cfg = {"fail_fast": True, **_mapping(data.get("cfg"), "cfg")}  # MissionControl's
    known = {"fail_fast", "partitions", *_FLOW_CFG, *OVERRIDABLE_OPTIONS}
    unknown = sorted(str(k) for k in set(cfg) - known)
    if unknown:
        raise ValueError(f"cfg: unknown setting {unknown[0]!r}" + _hint(unknown[0], sorted(known)))
    label = data.get("label")
    if label is not None and not isinstance(label, (str, int, float)):
        raise ValueError(f"label: expected a string, not {type(label).__name__}")
    flow = cls(name=str(label) if label is not None else None, **cfg)
    key = data.get("key")
    flow.key = None if key is None else str(key)
    flow.data = _mapping(data.get("data"), "data")
    specs = _task_specs(data)
    keys = _task_keys(specs)
    precursors = _precursors(specs, keys)
    for spec, key in zip(specs, keys):
        flow.tasks[key] = _task_from_spec(flow, spec, key, precursors[key], types)
    return flow


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{where}: expected a mapping, not {type(value).__name__}")
    return dict(value)


def _task_specs(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The task dicts of a spec (``tasks`` list) or of a serialized flow (``graph``)."""
    graph = _mapping(data.get("graph"), "graph")
    tasks = data.get("tasks", []) if not graph else [
        t for k, t in _mapping(graph.get("tasks"), "graph.tasks").items() if k != ROOT]
    if not isinstance(tasks, list):
        raise ValueError(f"tasks: expected a list of tasks, not {type(tasks).__name__}")
    for i, spec in enumerate(tasks):
        if not isinstance(spec, dict):
            raise ValueError(f"tasks[{i}]: expected a mapping, not {type(spec).__name__}")
        unknown = sorted(set(spec) - _TASK_FIELDS)
        if unknown:
            raise ValueError(f"tasks[{i}]: unknown field {unknown[0]!r}"
                             + _hint(unknown[0], sorted(_TASK_FIELDS)))
        for name in ("precursors", "successors"):
            names = spec.get(name, [])
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise ValueError(f"tasks[{i}]: {name}: expected a list of task keys, "
                                 f"not {names!r}"[:200])
        key = spec.get("key")
        if key is not None and not isinstance(key, (str, int)) or isinstance(key, bool):
            raise ValueError(f"tasks[{i}]: key: expected a string, not {key!r}"[:200])
        status = spec.get("status", "PENDING")
        if status not in _STATUS_WORDS:
            raise ValueError(f"tasks[{i}]: status {status!r}: expected one of "
                             + ", ".join(_STATUS_WORDS))
    return tasks


def _hint(name: str, candidates: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(str(name), candidates, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _task_keys(specs: list[dict[str, Any]]) -> list[str]:
    keys = [str(spec.get("key") or f"task_{i + 1}") for i, spec in enumerate(specs)]
    for i, key in enumerate(keys):
        if key == ROOT or key in keys[:i]:
            raise ValueError(f"tasks[{i}]: key {key!r} is " + (
                "reserved" if key == ROOT else "used by two tasks"))
    return keys


def _precursors(specs: list[dict[str, Any]], keys: list[str]) -> dict[str, list[str]]:
    """Each task's precursors; a task naming neither precursors nor successors follows
    the task before it (MissionControl's default: specs run top to bottom)."""
    found: dict[str, list[str]] = {}
    for i, (spec, key) in enumerate(zip(specs, keys)):
        default = [] if "successors" in spec else [keys[i - 1] if i else ROOT]
        found[key] = list(spec.get("precursors", default))
    for spec, key in zip(specs, keys):
        for successor in spec.get("successors", []):
            _known(successor, keys, key, "successor")
            found[successor].append(key)
    for key, names in found.items():
        for name in names:
            if name != ROOT:
                _known(name, keys, key, "precursor")
    return {key: [n for n in dict.fromkeys(names) if n != ROOT] for key, names in found.items()}


def _known(name: Any, keys: list[str], key: str, what: str) -> None:
    if name not in keys:
        import difflib

        close = difflib.get_close_matches(str(name), keys, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"task {key!r}: {what} {name!r} is not a task of the flow{hint}")


def _option(name: str, value: Any) -> Any:
    """Names lists (``tags``, ``limit``, ``hosts``) as tuples; one name may stand alone."""
    if name in ("tags", "limit", "hosts"):
        return tuple(value) if isinstance(value, list) else (value,)
    return value


def _task_from_spec(flow: Flow, spec: dict[str, Any], key: str, after: list[str],
                    types: dict[str, Any] | None) -> Task:
    task_type = spec.get("task_type")
    if not isinstance(task_type, str):
        raise ValueError(f"task {key!r}: task_type missing (a name such as 'shell')")
    if types is not None and task_type not in types:
        raise ValueError(f"task {key!r}: unknown task_type {task_type!r} (registered: "
                         f"{', '.join(sorted(types))})")
    params = _mapping(spec.get("task_params"), f"task {key!r}: task_params")
    try:
        options = {k: _option(k, v) for k, v in spec.items() if k in _TASK_OPTIONS}
        opts = TaskOptions(name=key, after=tuple(after), **options)
    except TypeError as exc:
        raise ValueError(f"task {key!r}: {exc}") from None
    if spec.get("status", "PENDING") != "PENDING":
        word = str(spec["status"])
        flow.statuses[key] = SUCCEEDED if word == "COMPLETED" else word.lower()
    fn = TypedCall(task_type, (types or {}).get(task_type), params)
    return Task(flow_id=flow.id, name=key, fn=fn, options=opts.merged(flow.task_defaults),
                upstream=tuple(after), task_type=task_type, task_params=params)


#: The version of ``run_record``'s shape (``history --json``, ``--report-json``).
RUN_RECORD_VERSION = 2


def run_record(run: Run) -> dict[str, Any]:
    """A run as JSON, the shape ``history --json`` and ``--report-json`` share (times in
    seconds since the epoch; ``duration`` is None while running)."""
    record = dataclasses.asdict(run)
    record["duration"] = round(run.finished - run.started, 6) if run.finished else None
    return record
