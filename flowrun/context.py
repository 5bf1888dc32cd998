"""What a running task sees: its ``context`` parameter and the current-task lookup
behind ``skip()`` and ``submit()``.

The rule of ``context.state`` (the flow's persistent state, API section 4):

- A task's first access of ``context.state`` in an attempt takes the flow's state lock,
  waiting while another task holds it (in this run or in any other process on the same
  store), then reads the state as stored at that moment.
- The lock is held until the attempt has ended: if it succeeded, its writes (only the
  keys it changed; deletions included) are merged into the stored state key by key and
  committed before the lock is released; if it failed, they are dropped. So ``n += 1``
  in 20 concurrent runs ends at exactly 20, and runs never drop each other's keys.
- Tasks that never touch ``context.state`` never take the lock; keep state work short,
  since tasks touching the same flow's state take turns.
- A child (``submit()``) or subflow task touching state while the task it came from
  holds the lock fails at once with a message saying so (waiting would never end):
  pass it the values as arguments.
- A value that cannot be stored fails the task, naming the key and the type.
- A task on an executor outside this process (process, SSH, Dask) cannot wait for
  the lock from its worker: if its code reads an attribute ``state`` it takes the lock
  before it starts (waiting its turn, never blocking other tasks) and gets the state
  read then; other tasks there get a snapshot, and their writes (if any) are merged
  key by key, the last write of a key winning.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import MutableMapping
from types import ModuleType
from typing import Any, Callable, Iterator

_local = threading.local()
TASK_LOGGER = "flowrun.task"
if logging.getLogger(TASK_LOGGER).level == logging.NOTSET:
    logging.getLogger(TASK_LOGGER).setLevel(logging.INFO)


class State(MutableMapping):
    """The flow's persistent state (Microflow's ``flow.context``), one copy per attempt.

    Values arrive serialized and are rebuilt on first read; ``changes()`` compares
    serialized values, so in-place mutation (``state["seen"].append(x)``) counts too.
    """

    def __init__(self, stored: dict[str, tuple[bytes | None, str | None]],
                 codec: ModuleType) -> None:
        self._codec = codec  # flowrun.plugin.results, handed down: the model stays the floor
        self._stored = dict(stored)
        self._values: dict[str, Any] = {}
        self._deleted: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        if key in self._values:
            return self._values[key]
        if key in self._deleted or key not in self._stored:
            raise KeyError(key)
        value = self._values[key] = self._codec.loads(*self._stored[key])
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise TypeError(f"state keys are strings, not {type(key).__name__}")
        self._deleted.discard(key)
        self._values[key] = value

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self._values.pop(key, None)
        self._deleted.add(key)

    def __iter__(self) -> Iterator[str]:
        keys = dict.fromkeys(k for k in self._stored if k not in self._deleted)
        keys.update(dict.fromkeys(self._values))
        return iter(keys)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"State({dict(self)!r})"

    def changes(self) -> dict[str, tuple[bytes | None, str | None] | None]:
        """Keys whose value differs from the stored one (None = deleted)."""
        changed: dict[str, Any] = {key: None for key in self._deleted if key in self._stored}
        for key, value in self._values.items():
            try:
                blob = self._codec.dumps(value)
            except self._codec.UnpicklableResult as exc:
                kind = f"{type(value).__module__}.{type(value).__qualname__}"
                why = str(exc).partition("cannot be stored: ")[2] or str(exc)
                raise self._codec.UnpicklableResult(
                    f"context.state[{key!r}]: a value of type {kind} cannot be stored"
                    f" ({why})") from None
            if self._stored.get(key) != blob:
                changed[key] = blob
        return changed


class Context:
    """The value of a task parameter named ``context``; also what ``submit()`` and
    ``skip()`` find for the running task. The logger and state are made on first use,
    so a context costs next to nothing when a task does not look at it."""

    def __init__(self, *, run_id: str, flow_id: str, task_id: str, attempt: int,
                 partition: Any = None, params: dict[str, Any] | None = None,
                 scheduled_for: float | None = None,
                 state: dict | Callable[[], dict] | None = None,
                 spawn: Callable | None = None, codec: ModuleType | None = None) -> None:
        self.run_id = run_id
        self.flow_id = flow_id
        self.task_id = task_id
        self.attempt = attempt
        self.partition = partition
        self.scheduled_for = scheduled_for  # the cron slot (epoch seconds) under --due
        self.params = params or {}
        self._stored_state = state
        self._state: State | None = None
        self._spawn = spawn
        self._codec = codec  # how state values are stored (flowrun.plugin.results)

    @property
    def task_name(self) -> str:
        return self.task_id.rpartition("::")[2]

    @property
    def logger(self) -> logging.Logger:
        """A logger whose records are captured with the task's output."""
        return logging.getLogger(f"{TASK_LOGGER}.{self.task_name}")

    @property
    def state(self) -> State:
        """The flow's persistent state; this task's writes are kept if it succeeds."""
        if self._state is None:
            stored = self._stored_state
            if callable(stored):  # waits for the flow's state lock (see above)
                stored = stored()
            self._state = State(stored or {}, self._codec)
        return self._state

    def state_changes(self) -> dict | None:
        return self._state.changes() if self._state is not None else None

    def __repr__(self) -> str:
        return f"<Context {self.task_id} attempt {self.attempt} run {self.run_id}>"


class Lazy:
    """A context made when ``current()`` first asks for it: most tasks never do."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Context]) -> None:
        self.make = make


def current() -> Context | None:
    """The context of the task running in this thread, or None outside tasks."""
    ctx = getattr(_local, "context", None)
    if type(ctx) is Lazy:
        ctx = _local.context = ctx.make()
    return ctx


def set_current(context: Context | Lazy | None) -> Context | Lazy | None:
    """Make ``context`` current in this thread; returns the previous one."""
    previous = getattr(_local, "context", None)
    _local.context = context
    return previous
