"""``submit()`` and ``run_flow()`` from a task running in another process.

The coordinator's engine owns every node, so a task on a worker (a process, an SSH
host, a Dask worker) cannot start a child itself: its ``submit()`` asks, and the
coordinator starts the child through the parent's ``call.spawn`` and answers when the
child is final. Waiting in ``future.result()`` lends the parent's slot ("lend" +1, then
-1), so a parent blocked on its children never starves them at ``-n 1``.

Both ends are transport-agnostic: ``RemoteSpawner`` (the worker's end) sends messages
through a ``send`` function, and ``ChildRequests`` (the coordinator's end, one per
attempt) is handed each message and answers through a ``reply`` function. Messages:

- worker -> coordinator: ``("spawn", request, blob)``, ``("lend", n)``
- coordinator -> worker: ``("child", request, blob)``

A blob is a cloudpickle of ``(target, args, kwargs, subflow)`` or of ``(ok, value)``.
"""
from __future__ import annotations

import itertools
import pickle
import sys
import threading
from concurrent.futures import Future
from typing import Any, Callable

from flowrun.errors import ChildTaskError
from flowrun.model import TaskDef

# -- the worker's end ------------------------------------------------------------------


class RemoteSpawner:
    """``call.spawn`` in a worker: ``submit()`` and ``run_flow()`` become requests.

    ``before_wait`` and ``after_wait`` run around a blocking ``result()`` in the task's
    thread (Dask's ``secede``/``rejoin``, which free the worker thread meanwhile).
    """

    def __init__(self, send: Callable[[tuple], None], before_wait: Callable | None = None,
                 after_wait: Callable | None = None) -> None:
        self.send = send
        self.before_wait, self.after_wait = before_wait, after_wait
        self.futures: dict[int, Future] = {}
        self.ids = itertools.count()
        self.lock = threading.Lock()

    def __call__(self, target: Any, args: tuple, kwargs: dict,
                 subflow: bool = False) -> Future:
        import cloudpickle

        future = _RemoteFuture(self)
        try:
            ref = target if subflow else _FunctionRef.of(target)
            blob = cloudpickle.dumps((ref, args, kwargs, subflow), pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - the user's arguments: say which call
            what = f"run_flow({target!r})" if subflow else \
                f"submit({getattr(target, '__name__', type(target).__name__)})"
            raise TypeError(f"{what}: cannot send it from this worker to flowrun: "
                            f"{type(exc).__name__}: {exc}") from None
        with self.lock:
            request = next(self.ids)
            self.futures[request] = future
        self.send(("spawn", request, blob))
        return future

    def answer(self, request: int, blob: bytes) -> None:
        """The coordinator's answer for ``request`` (from the transport's reader)."""
        with self.lock:
            future = self.futures.pop(request, None)
        if future is None:
            return
        try:
            ok, value = pickle.loads(blob)
        except Exception as exc:  # noqa: BLE001 - e.g. a class this host lacks
            ok, value = False, ChildTaskError(f"cannot load the child's result here: "
                                              f"{type(exc).__name__}: {exc}")
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)

    def lend(self, delta: int) -> None:
        self.send(("lend", delta))


class _RemoteFuture(Future):
    """Waiting on it lends the parent's slot to the children (see the module doc)."""

    def __init__(self, spawner: RemoteSpawner) -> None:
        super().__init__()
        self._spawner = spawner

    def result(self, timeout: float | None = None) -> Any:
        if self.done():
            return super().result(0)
        spawner = self._spawner
        spawner.lend(1)
        if spawner.before_wait is not None:
            spawner.before_wait()
        try:
            return super().result(timeout)
        finally:
            if spawner.after_wait is not None:
                spawner.after_wait()
            spawner.lend(-1)


class _FunctionRef:
    """A function sent back to the coordinator: by its module and name when the
    coordinator has that module loaded (the same object, so it is shipped once), by
    value otherwise (a closure, a lambda)."""

    _blobs: dict[int, tuple[Any, bytes]] = {}

    def __init__(self, module: str | None, qualname: str | None, blob: bytes) -> None:
        self.module, self.qualname, self.blob = module, qualname, blob

    @classmethod
    def of(cls, fn: Any) -> _FunctionRef:
        import cloudpickle

        inner = fn.fn if isinstance(fn, TaskDef) else fn
        kept = cls._blobs.get(id(fn))
        if kept is None or kept[0] is not fn:
            kept = cls._blobs[id(fn)] = (fn, cloudpickle.dumps(fn, pickle.HIGHEST_PROTOCOL))
        return cls(getattr(inner, "__module__", None), getattr(inner, "__qualname__", None),
                   kept[1])

    def resolve(self) -> Any:
        found = _lookup(self.module, self.qualname)
        return found if found is not None else pickle.loads(self.blob)


def _lookup(module: str | None, qualname: str | None) -> Any:
    """``module.qualname`` in this process, when it is the same function."""
    if not module or not qualname or "<" in qualname:
        return None
    obj: Any = sys.modules.get(module)
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    inner = obj.fn if isinstance(obj, TaskDef) else obj
    return obj if getattr(inner, "__qualname__", None) == qualname else None


# -- the coordinator's end -------------------------------------------------------------


class ChildRequests:
    """The requests of one attempt running elsewhere.

    ``spawn`` is the engine's ``call.spawn``; ``reply(message)`` sends to that attempt's
    worker; ``lend(n)`` is the executor's own capacity (more workers while a parent
    waits), if it has a fixed pool. ``close()`` once the attempt ended: what it still
    lent (a worker killed while waiting) is given back.
    """

    def __init__(self, spawn: Callable, reply: Callable[[tuple], None],
                 lend: Callable[[int], None] | None = None) -> None:
        self.spawn, self.reply, self.local_lend = spawn, reply, lend
        self.lent = 0
        self.closed = False
        self.lock = threading.Lock()

    def handle(self, message: tuple) -> None:
        if message[0] == "lend":
            self._lend(message[1])
        elif message[0] == "spawn":
            self._spawn(message[1], message[2])

    def close(self) -> None:
        with self.lock:
            self.closed, lent, self.lent = True, self.lent, 0
        if lent:
            self._give(-lent)

    def _lend(self, delta: int) -> None:
        with self.lock:
            if self.closed:
                return
            self.lent += delta
        self._give(delta)

    def _give(self, delta: int) -> None:
        if self.local_lend is not None:
            self.local_lend(delta)
        self.spawn.lend(delta)

    def _spawn(self, request: int, blob: bytes) -> None:
        try:
            target, args, kwargs, subflow = pickle.loads(blob)
            if isinstance(target, _FunctionRef):
                target = target.resolve()
        except Exception as exc:  # noqa: BLE001 - goes to the caller's result()
            self.reply(("child", request, _answer(False, ChildTaskError(
                f"cannot start the child: {type(exc).__name__}: {exc}"))))
            return
        future = self.spawn(target, args, kwargs, subflow)
        future.add_done_callback(lambda f: self.reply(("child", request, _answer_for(f))))


def _answer_for(future: Future) -> bytes:
    exc = future.exception()
    return _answer(True, future.result()) if exc is None else _answer(False, exc)


def _answer(ok: bool, value: Any) -> bytes:
    import cloudpickle

    try:
        return cloudpickle.dumps((ok, value), pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # noqa: BLE001 - an exception or value that cannot travel
        if ok:
            value = ChildTaskError(f"the child's result cannot be sent to the parent: "
                                   f"{type(exc).__name__}: {exc}")
        else:
            value = ChildTaskError(f"{type(value).__name__}: {value}")
        return cloudpickle.dumps((False, value), pickle.HIGHEST_PROTOCOL)
