"""The plain data flowrun works on: task definitions, flows, statuses, ids.

No I/O and no imports of the rest of flowrun, so every layer (and every plugin) can
depend on it.
"""
from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable

# -- statuses (API section 3) --------------------------------------------------------

PENDING, RUNNING = "pending", "running"
SUCCEEDED, FAILED, SKIPPED, CACHED, CANCELLED = (
    "succeeded", "failed", "skipped", "cached", "cancelled")
TASK_STATUSES = (PENDING, RUNNING, SUCCEEDED, FAILED, SKIPPED, CACHED, CANCELLED)
FINAL_STATUSES = frozenset({SUCCEEDED, FAILED, SKIPPED, CACHED, CANCELLED})
#: Statuses that leave a run green.
OK_STATUSES = frozenset({SUCCEEDED, SKIPPED, CACHED})
#: Statuses whose stored result a downstream task (or a resumed run) can use.
HAS_RESULT = frozenset({SUCCEEDED, CACHED})

INTERRUPTED = "interrupted"
RUN_STATUSES = (RUNNING, SUCCEEDED, FAILED, INTERRUPTED)

RUN_IF = ("succeeded", "done", "failed", "any_succeeded")

#: The parameter name that receives the running task's context instead of a result.
CONTEXT_PARAM = "context"


@dataclass(frozen=True)
class TaskOptions:
    """Everything ``@task(...)`` accepts besides the function (API section 2)."""

    name: str | None = None
    retries: int = 0
    retry_delay: float = 0.0
    retry_backoff: float = 1.0
    timeout: float | None = None
    tags: tuple[str, ...] = ()
    each: str | dict[str, list] | None = None
    after: tuple[Any, ...] = ()
    run_if: str = "succeeded"
    limit: tuple[str, ...] = ()
    executor: str | None = None
    hosts: tuple[str, ...] = ()
    run_key: Callable[..., str] | None = None

    def merged(self, overrides: dict[str, Any]) -> TaskOptions:
        """A copy with ``overrides`` applied (later levels of the option hierarchy)."""
        known = {k: v for k, v in overrides.items() if k in OVERRIDABLE_OPTIONS}
        return dataclasses.replace(self, **known) if known else self


#: Options a flow, the config file or the command line may set for every task.
OVERRIDABLE_OPTIONS = ("retries", "retry_delay", "retry_backoff", "timeout", "executor")


_created: list[TaskDef] | None = None  # see record_task_defs()


def record_task_defs(log: list[TaskDef] | None) -> list[TaskDef] | None:
    """Make every ``TaskDef`` created from now on append itself to ``log``.

    Collection uses it to see tasks that a module defines twice under one name (the
    second ``def`` would otherwise silently replace the first). Returns the previous log.
    """
    global _created
    previous, _created = _created, log
    return previous


class TaskDef:
    """A function decorated with ``@task``; calling it calls the plain function."""

    def __init__(self, fn: Callable[..., Any], options: TaskOptions) -> None:
        if _created is not None:
            _created.append(self)
        self.fn = fn
        self.options = options
        self.name = options.name or fn.__name__
        self.signature = inspect.signature(fn)
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<task {self.name}>"


@dataclass(eq=False)
class Task:
    """A task of a collected flow, its dependencies resolved.

    ``inputs`` maps each parameter to the upstream task name feeding it; ``params``
    maps flow-parameter names to their defaults; ``upstream`` is every task that must
    finish first (inputs plus ``after``).
    """

    flow_id: str
    name: str
    fn: Callable[..., Any]
    options: TaskOptions
    inputs: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    upstream: tuple[str, ...] = ()
    wants_context: bool = False
    wants_partition: bool = False  # a parameter named ``partition`` gets the run's key
    static_each: tuple[dict[str, Any], ...] = ()  # one dict per repeat of each={...}
    source_hash: str = ""
    task_type: str = "python"
    task_params: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return task_id(self.flow_id, self.name)

    @property
    def tags(self) -> tuple[str, ...]:
        return self.options.tags


class Flow:
    """A flow: declared by ``flow = Flow(...)`` in a flow module (at most one), filled
    with its tasks by collection.

    Task options given here (``retries``, ``timeout``, ...) override the decorators'
    for every task of the flow: the Flowy seed's option hierarchy.
    """

    def __init__(
        self,
        schedule: str | None = None,
        *,
        name: str | None = None,
        tags: list[str] | tuple[str, ...] = (),
        limits: dict[str, int] | None = None,
        fail_fast: bool = False,
        timezone: str | None = None,
        catchup: str = "latest",
        overlap: str = "skip",
        partitions: Any = None,
        **task_defaults: Any,
    ) -> None:
        self.schedule = schedule
        self.name = name
        self.tags = tuple(tags)
        self.limits = dict(limits or {})
        self.fail_fast = fail_fast
        self.timezone = timezone
        self.catchup = catchup
        self.overlap = overlap
        self.partitions = partitions
        self.task_defaults = task_defaults
        # Filled in by collection:
        self.id = ""
        self.path = ""
        self.tasks: dict[str, Task] = {}
        self.module: Any = None
        self.selected: list[str] | None = None  # task names to run; None: all

    @property
    def selected_tasks(self) -> list[Task]:
        names = self.tasks if self.selected is None else self.selected
        return [self.tasks[name] for name in names]

    @property
    def params(self) -> dict[str, Any]:
        """Flow parameters (name -> default), first declaration wins."""
        found: dict[str, Any] = {}
        for task in self.tasks.values():
            for name, default in task.params.items():
                found.setdefault(name, default)
        return found

    def __repr__(self) -> str:
        return f"<Flow {self.id or self.name or '?'} ({len(self.tasks)} tasks)>"

    # -- flows as data (API section 8) ---------------------------------------------------

    def to_dict(self, statuses: dict[str, str] | None = None) -> dict[str, Any]:
        """The flow in MissionControl's serialized shape (a graph under a ``ROOT``
        task), so tools and stores can keep flows as plain JSON. ``statuses`` maps task
        names to flowrun statuses (a run's), shown in MissionControl's words."""
        return _flow_to_dict(self, {**getattr(self, "statuses", {}), **(statuses or {})})

    @classmethod
    def from_dict(cls, data: dict[str, Any],
                  task_types: dict[str, Callable[..., Any]] | None = None) -> Flow:
        """A flow from a spec (``tasks`` as a list) or from ``to_dict()`` output.

        Each task's function calls its task type with its ``task_params``; with
        ``task_types`` given, an unknown type is an error. Raises ``ValueError`` naming
        the key at fault.
        """
        return _flow_from_dict(cls, data, task_types)


# -- flows as data: the MissionControl shape -------------------------------------------

ROOT = "ROOT"  # MissionControl's pseudo-task every first task hangs from
_FLOW_CFG = {"schedule": None, "tags": [], "limits": {}, "timezone": None,
             "catchup": "latest", "overlap": "skip"}
_TASK_OPTIONS = ("retries", "retry_delay", "retry_backoff", "timeout", "run_if",
                 "executor", "tags", "limit", "hosts", "each")
_TASK_FIELDS = {"key", "task_type", "task_params", "precursors", "successors", "status",
                *_TASK_OPTIONS}


class TypedCall:
    """A spec task's function: its task type called with its ``task_params``.

    A class (not a closure) so it pickles whenever the type does: any executor runs it.
    """

    def __init__(self, task_type: str, fn: Callable[..., Any] | None,
                 params: dict[str, Any]) -> None:
        self.task_type, self.type_fn, self.params = task_type, fn, params

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


def _flow_to_dict(flow: Flow, statuses: dict[str, str]) -> dict[str, Any]:
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
    out = {"cfg": cfg, "data": dict(getattr(flow, "data", {})), "depth": 0,
           "graph": {"edges": edges, "tasks": tasks}, "label": flow.name or flow.id or None,
           "num_tickable_tasks": _tickable(tasks), "parent_key": None,
           "status": _overall([t["status"] for k, t in tasks.items() if k != ROOT])}
    key = getattr(flow, "key", None) or flow.id
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


def _flow_from_dict(cls: type[Flow], data: Any, types: dict[str, Any] | None) -> Flow:
    if not isinstance(data, dict):
        raise ValueError(f"a flow spec is a mapping, not {type(data).__name__}")
    cfg = {"fail_fast": True, **_mapping(data.get("cfg"), "cfg")}  # MissionControl's
    known = {"fail_fast", "partitions", *_FLOW_CFG, *OVERRIDABLE_OPTIONS}
    unknown = sorted(set(cfg) - known)
    if unknown:
        raise ValueError(f"cfg: unknown setting {unknown[0]!r}")
    label = data.get("label")
    flow = cls(name=str(label) if label is not None else None, **cfg)
    # Plain attributes only spec flows have; to_dict() reads them with defaults.
    flow.key = data.get("key")  # type: ignore[attr-defined]
    flow.data = _mapping(data.get("data"), "data")  # type: ignore[attr-defined]
    flow.statuses = {}  # type: ignore[attr-defined]
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
            raise ValueError(f"tasks[{i}]: unknown field {unknown[0]!r}")
    return tasks


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
        return (value,) if isinstance(value, str) else tuple(value)
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
        statuses = flow.statuses  # type: ignore[attr-defined]
        statuses[key] = SUCCEEDED if word == "COMPLETED" else word.lower()
    fn = TypedCall(task_type, (types or {}).get(task_type), params)
    return Task(flow_id=flow.id, name=key, fn=fn, options=opts.merged(flow.task_defaults),
                upstream=tuple(after), task_type=task_type, task_params=params)


@dataclass
class Report:
    """What happened to one task in one run, as reporters and the store see it."""

    run_id: str
    flow_id: str
    task_id: str
    status: str = PENDING
    attempt: int = 0
    queued: float | None = None
    started: float | None = None
    finished: float | None = None
    error: str | None = None       # the user's traceback, flowrun's frames cut
    summary: str | None = None     # one line: "ValueError: boom", "timed out after 2s"
    reason: str | None = None      # why skipped / cancelled / cached
    stdout: str = ""
    stderr: str = ""
    log: str = ""
    result: bytes | None = None    # serialized result (see flowrun.results)
    result_format: str | None = None
    run_key: str | None = None
    parent: str | None = None      # task id of the task that submit()-ed this one
    result_ref: str | None = None  # where a large result lives outside the database
    source_hash: str | None = None  # hash of the task's code when it ran
    will_retry: bool = False

    @property
    def duration(self) -> float:
        if self.started is None or self.finished is None:
            return 0.0
        return self.finished - self.started


@dataclass
class Run:
    """One run of one flow."""

    id: str
    flow_id: str
    status: str = RUNNING
    started: float = 0.0
    finished: float | None = None
    params: dict[str, Any] = field(default_factory=dict)
    resumed_from: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    partition: str | None = None       # the partition key (Microflow's partitions)
    scheduled_for: float | None = None  # the cron slot this run is for (--due)


@dataclass(eq=False)
class RunRequest:
    """What the session asks the engine for: one run of one flow.

    ``reuse`` maps task names to stored reports whose results are taken as they are
    (``--resume``); ``partition`` and ``scheduled_for`` reach tasks through ``context``.
    Requests naming the same ``queue`` run one after another, in list order (the
    catch-up slots of one flow); the rest run side by side.
    """

    flow: Flow
    params: dict[str, Any] = field(default_factory=dict)
    partition: str | None = None
    scheduled_for: float | None = None
    resumed_from: str | None = None
    reuse: dict[str, Report] = field(default_factory=dict)
    queue: str | None = None


def task_id(flow_id: str, name: str) -> str:
    """``flows/flow_sales.py::clean``: the id the CLI, store and reporters share."""
    return f"{flow_id}::{name}"


def split_node_id(node_id: str) -> tuple[str, str | None]:
    """``"a/flow_x.py::t"`` -> ``("a/flow_x.py", "t")``; a bare path -> ``(path, None)``."""
    path, sep, rest = node_id.partition("::")
    return path, (rest if sep else None)
