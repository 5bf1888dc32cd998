"""What flow files call: ``@task``, ``skip()``, ``submit()``."""
from __future__ import annotations

from typing import Any, Callable, Iterable

from flowrun import context
from flowrun.errors import Skipped
from flowrun.model import TaskDef, TaskOptions


def _names(value: Any) -> tuple:
    """One name or a list of them, as a tuple; anything else is kept as it is, inside
    the tuple, for collection to report (never a crash at decoration time)."""
    if value is None:
        return ()
    if isinstance(value, (list, tuple, set, frozenset)):
        return tuple(value)
    return (value,)


def task(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    retries: int = 0,
    retry_delay: float = 0.0,
    retry_backoff: float = 1.0,
    timeout: float | None = None,
    tags: Iterable[str] = (),
    each: str | dict[str, list] | None = None,
    after: Iterable[Any] | Any = (),
    run_if: str = "succeeded",
    limit: str | Iterable[str] = (),
    executor: str | None = None,
    hosts: str | Iterable[str] = (),
    run_key: Callable[..., str] | None = None,
    reads: str | Iterable[str] = (),
    writes: str | Iterable[str] = (),
    cache: bool | str | None = None,
    cache_version: str | None = None,
    **unknown: Any,
) -> Any:
    """Mark a function as a task of its flow; usable bare (``@task``) or with options.

    Options are checked when the flow is collected, so a bad value (or an unknown
    keyword) is reported as a collection error naming the file, the task and the option.
    """
    options = TaskOptions(
        name=name, retries=retries, retry_delay=retry_delay, retry_backoff=retry_backoff,
        timeout=timeout, tags=tuple(_names(tags)), each=each, after=_names(after),
        run_if=run_if, limit=tuple(_names(limit)), executor=executor,
        hosts=tuple(_names(hosts)), run_key=run_key,
        reads=tuple(_names(reads)), writes=tuple(_names(writes)), cache=cache,
        cache_version=cache_version, unknown=tuple(unknown))

    def decorate(function: Callable[..., Any]) -> TaskDef:
        return TaskDef(function, options)

    return decorate(fn) if fn is not None else decorate


def skip(reason: str = "") -> None:
    """Stop the running task as ``skipped``; its downstream is skipped too."""
    raise Skipped(reason)


def submit(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """From inside a running task, start ``fn(*args, **kwargs)`` as a child task.

    The child is recorded, captured and retried like any task; independent submits run
    in parallel. Returns a ``concurrent.futures.Future``: ``result()`` waits for it.
    """
    ctx = context.current()
    if ctx is None or ctx._spawn is None:
        raise RuntimeError("flowrun.submit() works only inside a running task "
                           "on an executor that supports child tasks")
    return ctx._spawn(fn, args, kwargs)


def run_flow(target: Any, **params: Any) -> dict[str, Any]:
    """From inside a running task, run another flow as a nested group of this run.

    ``target`` is a flow file path (relative to the rootdir, or to the calling flow's
    folder) or an imported flow module. Waits for it and returns ``{task name:
    result}``; raises if one of its tasks failed.
    """
    ctx = context.current()
    if ctx is None or ctx._spawn is None:
        raise RuntimeError("flowrun.run_flow() works only inside a running task "
                           "on an executor that supports child tasks")
    target = getattr(target, "__file__", target)
    return ctx._spawn(target, (), params, subflow=True).result()
