"""The plain data flowrun works on: task definitions, flows, statuses, ids. No I/O and
no imports of the rest of flowrun, so every layer (and every plugin) can depend on it."""
from __future__ import annotations

import dataclasses
import enum
import functools
import inspect
import operator
import os
from dataclasses import dataclass, field
from typing import Any, Callable

# -- statuses (API section 3) --------------------------------------------------------

class Status(enum.StrEnum):
    """Every status of a task or a run; each compares equal to its plain string."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CACHED = "cached"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"  # runs only


PENDING, RUNNING = Status.PENDING, Status.RUNNING
SUCCEEDED, FAILED, SKIPPED, CACHED, CANCELLED = (
    Status.SUCCEEDED, Status.FAILED, Status.SKIPPED, Status.CACHED, Status.CANCELLED)
TASK_STATUSES = (PENDING, RUNNING, SUCCEEDED, FAILED, SKIPPED, CACHED, CANCELLED)
FINAL_STATUSES = frozenset({SUCCEEDED, FAILED, SKIPPED, CACHED, CANCELLED})
#: Statuses that leave a run green.
OK_STATUSES = frozenset({SUCCEEDED, SKIPPED, CACHED})
#: Statuses whose stored result a downstream task (or a resumed run) can use.
HAS_RESULT = frozenset({SUCCEEDED, CACHED})

INTERRUPTED = Status.INTERRUPTED
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
    reads: tuple[str, ...] = ()  # declared files (API section 10)
    writes: tuple[str, ...] = ()
    cache: bool | str | None = None  # None: not set here (a flow or config may set it)
    cache_version: str | None = None
    #: Keywords ``@task(...)`` was given but does not take: collection reports them.
    unknown: tuple[str, ...] = ()

    def merged(self, overrides: dict[str, Any]) -> TaskOptions:
        """A copy with ``overrides`` applied (later levels of the option hierarchy)."""
        known = {k: v for k, v in overrides.items() if k in OVERRIDABLE_OPTIONS
                 and (k != "cache" or self.cache is None)}  # the task's own cache= wins
        return dataclasses.replace(self, **known) if known else self


#: Options a flow, the config file or the command line may set for every task.
OVERRIDABLE_OPTIONS = ("retries", "retry_delay", "retry_backoff", "timeout", "executor",
                       "cache")


_created: list[TaskDef] | None = None  # see record_task_defs()


def record_task_defs(log: list[TaskDef] | None) -> list[TaskDef] | None:
    """Make every ``TaskDef`` created from now on append itself to ``log``: collection
    sees tasks a module defines twice under one name (the second ``def`` would otherwise
    silently replace the first). Returns the previous log."""
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
        if not inspect.isfunction(fn):  # a callable without one fails here, at decoration
            self.signature = inspect.signature(fn)
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn

    @functools.cached_property
    def signature(self) -> inspect.Signature:
        """Computed on first use: collection reads the function's own (``graph``)."""
        return inspect.signature(self.fn)

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
    data_aware: bool = False  # declares reads/writes or is cached (flowrun.caching)
    file_upstream: tuple[str, ...] = ()  # upstream only through files it reads

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
        after: list[str] | tuple[str, ...] | str = (),
        notify: Any = None, missed_after: Any = None, expected_duration: Any = None,
        **task_defaults: Any,
    ) -> None:
        self.schedule = schedule
        self.name = name
        # kept as given when malformed: collection reports them (flowrun.option_checks)
        self.tags = tuple(tags) if isinstance(tags, (list, tuple, set)) else (tags,)
        self.limits = dict(limits) if isinstance(limits, dict) else limits or {}
        self.fail_fast = fail_fast
        self.timezone = timezone
        self.catchup = catchup
        self.overlap = overlap
        self.partitions = partitions
        #: flows (ids or paths) whose runs in the same session must succeed first
        self.after = tuple(after) if isinstance(after, (list, tuple)) else (after,)
        self.task_defaults = task_defaults
        #: alerts (flowrun.notify checks them): channels, lateness of a slot, of a run
        self.notify, self.missed_after, self.expected_duration = \
            notify, missed_after, expected_duration
        # Filled in by collection:
        self.id = ""
        self.path = ""
        self.tasks: dict[str, Task] = {}
        self.module: Any = None
        self.selected: list[str] | None = None  # task names to run; None: all
        self.named: set[str] | None = None  # names the command line chose (not upstream)
        # Only spec flows (flows as data) set these; ``to_dict`` writes them back.
        self.key: str | None = None                 # MissionControl's flow key
        self.data: dict[str, Any] = {}              # MissionControl's free-form data
        self.statuses: dict[str, str] = {}          # task name -> status given in a spec

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
        from flowrun.model_dicts import flow_to_dict

        return flow_to_dict(self, {**self.statuses, **(statuses or {})})

    @classmethod
    def from_dict(cls, data: dict[str, Any],
                  task_types: dict[str, Callable[..., Any]] | None = None) -> Flow:
        """A flow from a spec (``tasks`` as a list) or from ``to_dict()`` output.

        Each task's function calls its task type with its ``task_params``; with
        ``task_types`` given, an unknown type is an error. Raises ``ValueError`` naming
        the key at fault.
        """
        from flowrun.model_dicts import flow_from_dict

        return flow_from_dict(cls, data, task_types)


@dataclass(slots=True)
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
    result: bytes | None = None    # serialized result (see flowrun.plugin.results)
    result_format: str | None = None
    run_key: str | None = None
    parent: str | None = None      # task id of the task that submit()-ed this one
    result_ref: str | None = None  # where a large result lives outside the database
    source_hash: str | None = None  # hash of the task's code when it ran
    args_hash: str | None = None   # hash of an instance's, child's or subflow task's inputs
    label: str | None = None       # a mapped instance's values, shown by its id: "region=eu"
    will_retry: bool = False

    @property
    def duration(self) -> float:
        if self.started is None or self.finished is None:
            return 0.0
        return self.finished - self.started

    def snapshot(self) -> Report:
        """This report as it is now, read-only: what the task hooks hand reporters,
        since the engine goes on changing its own (next attempt, stored result)."""
        copy = Report(*_report_fields(self))  # 1 µs; dataclasses.replace takes 4
        copy.__class__ = ReportSnapshot
        return copy


#: Every field of a report, in order, read in C.
_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(Report))
_report_fields = operator.attrgetter(*_FIELD_NAMES)


class ReportSnapshot(Report):
    """A ``Report`` that cannot change: setting an attribute raises ``AttributeError``."""

    __slots__ = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # dataclasses.replace() works
        for name, value in zip(_FIELD_NAMES, _report_fields(Report(*args, **kwargs))):
            object.__setattr__(self, name, value)

    def snapshot(self) -> Report:
        return self  # it cannot change

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"a reported task is a snapshot: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"a reported task is a snapshot: cannot delete {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:  # pickles (and copies) as a plain Report
        return Report, _report_fields(self)


def host_name() -> str:
    """This machine's name as runs record it: ``FLOWRUN_HOSTNAME``, else the node name."""
    return os.environ.get("FLOWRUN_HOSTNAME") or os.uname().nodename


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
    #: The process running it, so a run whose process died shows ``interrupted``.
    pid: int | None = field(default_factory=os.getpid)
    host: str | None = field(default_factory=lambda: host_name())
    #: Why it failed before any task started (a bad ``--param``, an uncollectable flow)
    error: str | None = None
    #: Why a run ended so when no task says it ("host H stopped renewing at T"), or None.
    reason: str | None = None

    def process_gone(self) -> bool:
        """True if this run is recorded ``running`` but its process, on this host, is
        no longer alive (killed, power loss): it is then shown ``interrupted``."""
        if self.status != RUNNING or not self.pid or self.host != host_name():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, another user's
            return False
        return False


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
    #: node id -> stored report of a mapped instance, child or subflow task that
    #: succeeded; reused when its arguments (``args_hash``) and code match (--resume)
    stored: dict[str, Report] = field(default_factory=dict)
    run_id: str | None = None  # chosen by the caller (FLOWRUN_RUN_ID); else a new one
    #: task names rerun on their own (``--force`` without downstream): what follows
    #: them is still reused
    rerun_alone: frozenset[str] = frozenset()


def slot_text(scheduled_for: float) -> str:
    """A cron slot as every output names it: ISO 8601 in UTC, whatever the reader's zone."""
    from datetime import datetime, timezone

    return datetime.fromtimestamp(scheduled_for, timezone.utc).isoformat()


def task_id(flow_id: str, name: str) -> str:
    """``flows/flow_sales.py::clean``: the id the CLI, store and reporters share."""
    return f"{flow_id}::{name}"


def split_node_id(node_id: str) -> tuple[str, str | None]:
    """``"a/flow_x.py::t"`` -> ``("a/flow_x.py", "t")``; a bare path -> ``(path, None)``."""
    path, sep, rest = node_id.partition("::")
    return path, (rest if sep else None)
