"""One attempt of one task, wherever it runs: a thread, a worker process, a remote host.

Executors ship a ``Call`` to where the work happens and run ``run_attempt`` there; it
returns an ``Outcome`` with the status, the serialized result, the user's traceback
(flowrun's frames cut, as pytest cuts its own) and the captured output.
"""
from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from flowrun import context
from flowrun.plugin import results
from flowrun.errors import Skipped
from flowrun.plugin import capture
from flowrun.model import CONTEXT_PARAM, FAILED, SKIPPED, SUCCEEDED

_FLOWRUN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_HIDDEN_DIRS: tuple[str, ...] = (_FLOWRUN_DIR,)
try:  # pluggy's frames are machinery too
    import pluggy

    _HIDDEN_DIRS += (os.path.dirname(os.path.abspath(pluggy.__file__)) + os.sep,)
except ImportError:  # pragma: no cover - pluggy is a dependency
    pass


@dataclass
class Call:
    """Everything needed to run one attempt, picklable except ``spawn`` and ``hook``."""

    task_id: str
    flow_id: str
    run_id: str
    attempt: int
    fn: Callable[..., Any]
    kwargs: dict[str, Any]
    wants_context: bool = False
    timeout: float | None = None
    partition: Any = None
    scheduled_for: float | None = None
    params: dict[str, Any] = field(default_factory=dict)
    state: dict | None = None
    hosts: tuple = ()   # @task(hosts=...): where the SSH executor may run it
    #: ``("module:function", arg)`` pairs: each ``function(call, arg)`` gives a context
    #: manager entered around the task's function wherever it runs (the trace context
    #: of the attempt's span, ``CALL_PREPARERS``); one that cannot load is left out.
    around: tuple = ()
    spawn: Callable | None = None   # what submit() calls (Executor.supports_children)
    hook: Callable | None = None    # the flowrun_task_call hook, in-process only

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["spawn"] = state["hook"] = None
        return state

    def invoke(self) -> Any:
        """Call the task's function (what the built-in ``flowrun_task_call`` does).

        A submitted child carries its positional arguments under ``__args__``.
        """
        if "__args__" in self.kwargs:
            kwargs = dict(self.kwargs)
            return self.fn(*kwargs.pop("__args__"), **kwargs)
        return self.fn(**self.kwargs)


@dataclass
class Outcome:
    """What an attempt produced. ``value`` stays in the process that ran it."""

    status: str = FAILED
    value: Any = None
    result: bytes | None = None
    result_format: str | None = None
    error: str | None = None
    summary: str | None = None
    reason: str | None = None
    stdout: str = ""
    stderr: str = ""
    log: str = ""
    started: float = 0.0
    finished: float = 0.0
    state_changes: dict | None = None
    exception: BaseException | None = None  # in-process only: for submit() futures
    #: Where the executor keeps the result (a Dask future, ...): passed instead of the
    #: value to downstream tasks whose executor ``accepts_ref`` it; never pickled.
    ref: Any = None
    #: A large result a worker already wrote to the store's result files (its ref, and
    #: its size in bytes): ``result`` is then None, and the bytes never crossed a pipe.
    result_ref: str | None = None
    result_size: int = 0

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["value"] = state["ref"] = None
        state["exception"] = _portable(self.exception)
        return state

    def __setstate__(self, state: dict) -> None:
        blob = state.get("exception")
        state["exception"] = _unpickled(blob) if blob is not None else None
        self.__dict__.update(state)

    def get_value(self) -> Any:
        """The result, rebuilt from its serialized form when it crossed a process."""
        if self.value is None and self.result is not None:
            self.value = results.loads(self.result, self.result_format)
        elif self.value is None and isinstance(self.ref, results.ResultFile):
            self.value = self.ref.load()
        return self.value


def _portable(exc: BaseException | None) -> bytes | None:
    """The task's exception, pickled so that a parent in another process gets the
    same exception from ``future.result()``; None when it cannot travel."""
    if exc is None or isinstance(exc, KeyboardInterrupt):
        return None
    import cloudpickle

    try:
        return cloudpickle.dumps(exc)
    except Exception:  # noqa: BLE001 - the parent gets ChildTaskError instead
        return None


def _unpickled(blob: bytes) -> BaseException | None:
    import pickle

    try:
        return pickle.loads(blob)
    except Exception:  # noqa: BLE001 - e.g. a class this side cannot import
        return None


def run_attempt(call: Call, captured: capture.Captured | None = None) -> Outcome:
    """Run ``call`` with its output captured (into ``captured`` if given: an executor
    that may abandon the attempt keeps it, see ``capture.abandon``); never raises for
    the user's errors."""
    outcome = Outcome(started=time.time())
    ctx = None
    if call.wants_context:
        ctx = call.kwargs[CONTEXT_PARAM] = _context(call)
        previous = context.set_current(ctx)
    else:  # submit() and run_flow() find it; made only if they are called
        previous = context.set_current(None if call.spawn is None else
                                       context.Lazy(lambda: _context(call)))
    captured = capture.begin(call.task_id, captured)
    try:
        if call.around:  # tracing: its context current while the task runs
            with _around(call):
                value = call.hook(call=call) if call.hook else call.invoke()
        else:
            value = call.hook(call=call) if call.hook else call.invoke()
        outcome.result, outcome.result_format = results.dumps(value)
        if ctx is not None:  # a state value that cannot be stored fails the task
            outcome.state_changes = ctx.state_changes()
        outcome.value = value
        outcome.status = SUCCEEDED
    except Skipped as exc:
        outcome.status, outcome.reason = SKIPPED, exc.reason
    except results.UnpicklableResult as exc:
        outcome.summary = outcome.error = str(exc)
    except BaseException as exc:  # noqa: BLE001 - a task's SystemExit fails the task
        outcome.error, outcome.summary = format_user_error(exc)
        outcome.exception = exc
    finally:
        capture.end(captured)
        context.set_current(previous)
        if call.wants_context:
            call.kwargs.pop(CONTEXT_PARAM, None)
    outcome.stdout, outcome.stderr, outcome.log = captured.stdout, captured.stderr, captured.log
    outcome.finished = time.time()
    return outcome


def _around(call: Call) -> Any:
    """The context managers of ``call.around``, entered in order."""
    import contextlib

    if len(call.around) == 1:  # the common case (tracing): no stack to build
        made = _made(call, *call.around[0])
        return contextlib.nullcontext() if made is None else made
    stack = contextlib.ExitStack()
    for ref, arg in call.around:
        made = _made(call, ref, arg)
        if made is not None:
            stack.enter_context(made)
    return stack


_AROUND: dict[str, Any] = {}  # "module:function" -> the function, once imported


def _made(call: Call, ref: str, arg: Any) -> Any:
    """``function(call, arg)`` for ``ref``; None if it cannot load where this runs."""
    function = _AROUND.get(ref)
    if function is None:
        try:
            import importlib

            module, _, name = ref.partition(":")
            function = _AROUND[ref] = getattr(importlib.import_module(module), name)
        except Exception:  # noqa: BLE001 - not installed where it runs: run untraced
            return None
    return function(call, arg)


def _context(call: Call) -> context.Context:
    return context.Context(
        run_id=call.run_id, flow_id=call.flow_id, task_id=call.task_id,
        attempt=call.attempt, partition=call.partition, params=call.params,
        scheduled_for=call.scheduled_for, state=call.state, spawn=call.spawn,
        codec=results)


def failed_outcome(message: str, error: str | None = None) -> Outcome:
    """An attempt that failed before (or instead of) running: ``message`` is the one
    line shown, ``error`` the longer text (default: the same line)."""
    now = time.time()
    return Outcome(status=FAILED, error=error or message, summary=message,
                   started=now, finished=now)


def _is_user_frame(frame: traceback.FrameSummary) -> bool:
    name = frame.filename
    return not name.startswith(_HIDDEN_DIRS) and "importlib._bootstrap" not in name


def _cut_own_frames(te: traceback.TracebackException) -> None:
    kept = [f for f in te.stack if _is_user_frame(f)]
    te.stack = traceback.StackSummary.from_list(kept)
    for chained in (te.__cause__, te.__context__):
        if chained is not None:
            _cut_own_frames(chained)


def format_user_error(exc: BaseException) -> tuple[str, str]:
    """The user's traceback without flowrun's frames, and its last line."""
    te = traceback.TracebackException.from_exception(exc)
    _cut_own_frames(te)
    text = "".join(te.format())
    summary = "".join(te.format_exception_only()).strip().splitlines()[-1]
    kind = type(exc)
    if kind.__module__.startswith("flowrun."):  # our classes by name, not by module path
        full = f"{kind.__module__}.{kind.__qualname__}"
        text, summary = text.replace(full, kind.__qualname__), summary.replace(
            full, kind.__qualname__)
    return text, summary
