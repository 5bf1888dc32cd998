"""The API's documents, as pydantic models: they validate request bodies and give the
OpenAPI document its schemas."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RunStatus = Literal["running", "succeeded", "failed", "interrupted"]
TaskStatus = Literal["pending", "running", "succeeded", "failed", "skipped", "cached",
                     "cancelled"]


class Error(BaseModel):
    error: str
    run_id: str | None = None  # a start refused for a bad parameter is kept as this run


class RunSummary(BaseModel):
    id: str
    flow_id: str
    status: RunStatus
    started: str | None
    ended: str | None
    duration: float | None
    partition: str | None
    resumed_from: str | None
    counts: dict[str, int]
    params: dict[str, Any]
    pid: int | None
    host: str | None
    error: str | None = None  # why the run failed before its first task (a bad parameter)


class Attempt(BaseModel):
    number: int
    status: TaskStatus
    started: str | None
    ended: str | None
    error: str | None
    reason: str | None


class TaskState(BaseModel):
    task_id: str
    status: TaskStatus
    attempts: list[Attempt]
    started: str | None
    ended: str | None
    duration: float | None
    error: str | None
    reason: str | None
    parent: str | None


class RunDetail(RunSummary):
    tasks: list[TaskState]


class LogEntry(BaseModel):
    task_id: str
    attempt: int
    status: TaskStatus
    stdout: str
    stderr: str
    log: str
    lines: dict[str, int] | None = None  # with ?tail=: each stream's lines in all
    truncated: bool | None = None  # with ?tail=: whether a stream was cut


Stream = Literal["stdout", "stderr", "log"]


class LogMatch(BaseModel):
    """A line holding ``?q=``, with its neighbours (``?context=N``)."""
    task_id: str
    attempt: int
    stream: Stream
    line_number: int
    line: str
    before: list[str]
    after: list[str]


class LogHit(BaseModel):
    """A line of a stored log holding the words of ``GET /search?q=``."""
    run_id: str
    flow_id: str
    task_id: str
    attempt: int
    stream: Stream
    line_number: int
    line: str


class LastRun(BaseModel):
    id: str
    status: RunStatus
    started: str | None


class FlowSummary(BaseModel):
    id: str
    tags: list[str] = []
    schedule: str | None = None
    next_due: str | None = None  # None for a paused flow: it is never due
    paused: bool = False
    last_run: LastRun | None = None
    error: str | None = None


class Param(BaseModel):
    name: str
    type: str
    default: Any = None


class FlowTask(BaseModel):
    name: str
    id: str
    upstream: list[str]
    mapped: bool
    tags: list[str]
    task_type: str


class Partitions(BaseModel):
    granularity: str | None
    categories: list[str]
    time_keys: list[str]
    keys: list[list[str]]


class FlowDetail(FlowSummary):
    """The flow as data (``Flow.to_dict()``: label, key, cfg, graph, ...) plus what the
    UI shows: parameters with defaults and types, tasks, partitions."""

    timezone: str | None = None
    params: list[Param] = []
    tasks: list[FlowTask] = []
    partitions: Partitions | None = None
    label: str | None = None
    key: str | None = None
    cfg: dict[str, Any] = {}
    data: dict[str, Any] = {}
    graph: dict[str, Any] = {}
    depth: int | None = None
    parent_key: str | None = None
    status: str | None = None
    num_tickable_tasks: int | None = None


class StartRun(BaseModel):
    model_config = ConfigDict(extra="forbid")
    params: dict[str, Any] = Field(default_factory=dict)
    partition: str | None = None


class Backfill(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: str = Field(min_length=1, max_length=64)
    end: str = Field(min_length=1, max_length=64)
    only: Literal["missing", "failed"] | None = None


class Rerun(BaseModel):
    """Tasks of the run to run again (``downstream``: and everything after them)."""
    model_config = ConfigDict(extra="forbid")
    tasks: list[str] = Field(min_length=1, max_length=1000)
    downstream: bool = True


SlotOutcome = Literal["running", "succeeded", "failed", "interrupted", "abandoned",
                      "skipped", "missed", "due", "paused"]


class Slot(BaseModel):
    """A cron slot: its time, what became of it, and its run."""
    time: str
    outcome: SlotOutcome
    run_id: str | None


class ScheduleRow(BaseModel):
    """A scheduled flow: ``next`` fire times and last ``slots``, newest first."""
    flow_id: str
    schedule: str
    timezone: str
    catchup: str
    overlap: str
    paused: bool
    paused_since: str | None
    next: list[str]
    slots: list[Slot]


class PauseState(BaseModel):
    flow_id: str
    paused: bool


class NoBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Accepted(BaseModel):
    run_id: str


class AcceptedMany(BaseModel):
    run_ids: list[str]


class Cell(BaseModel):
    key: str
    time_key: str | None
    category: str | None
    status: str
    run_id: str | None


class Grid(BaseModel):
    flow_id: str
    granularity: str | None
    categories: list[str]
    time_keys: list[str]
    cells: list[Cell]


class HistoryRun(BaseModel):
    id: str
    status: RunStatus
    started: str | None
    cells: dict[str, str]  # task id (mapped instances folded) -> its status in this run


class HistoryGrid(BaseModel):
    flow_id: str
    tasks: list[str]
    runs: list[HistoryRun]
