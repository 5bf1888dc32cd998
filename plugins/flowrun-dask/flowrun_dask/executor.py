"""The ``dask`` executor itself (see the package's docstring), imported only when a run
uses it: the plugin's hooks load with every ``flowrun`` command.
"""
from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from typing import Any

from flowrun.plugin import (
    Call,
    Captured,
    ChildRequests,
    Executor,
    ExecutorError,
    Outcome,
    Packer,
    RemoteSpawner,
    UsageError,
    abandon_capture,
    ensure_capture,
    failed_outcome,
    load_function,
    run_packed_call,
)


#: Seconds a cancel waits for the workers to hand back an abandoned attempt's output.
ASK_WORKERS_FOR = 5.0


class _Job:
    __slots__ = ("future", "cancelled", "children", "output")

    def __init__(self) -> None:
        self.future: Any = None
        self.cancelled = False
        self.children: ChildRequests | None = None
        self.output: tuple[str, str, str] | None = None  # what it printed, if abandoned


class DaskExecutor(Executor):
    supports_children = True

    def __init__(self, rootdir: str, address: str | None, cluster_settings: dict) -> None:
        from distributed import Client, Future, LocalCluster

        self.Future = Future
        self.packer = Packer(rootdir)
        self.digests: dict[int, str] = {}
        self.lock = threading.Lock()
        self.cluster = None
        settings = dict(cluster_settings)
        timeout = settings.pop("timeout")
        try:
            if address:
                self.client = Client(address, timeout=timeout, set_as_default=False)
            else:
                import dask

                # a worker that dies fails its attempt at once: flowrun's retries decide
                with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
                    self.cluster = LocalCluster(  # any free port: never "8787 in use"
                        dashboard_address=":0", silence_logs=logging.CRITICAL, **settings)
                self.client = Client(self.cluster, set_as_default=False, timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - OSError, TimeoutError, a failed start
            if address:  # a setting that points nowhere: the user's to fix
                raise UsageError(f"dask executor: cannot reach {address} (--dask-address, "
                                 f"FLOWRUN_DASK_ADDRESS or [tool.flowrun.dask] address): "
                                 f"{exc}") from None
            raise ExecutorError(f"dask executor: cannot start a LocalCluster: {exc}") from None
        from distributed import as_completed

        # Outcomes come back through one as_completed, fetched on the client's event
        # loop; a done-callback per future calling result() costs a thread hop and a
        # blocking round trip each (flowrun's overhead was 2.7 ms/task that way, 1.6 ms
        # this way, in tests/benchmarks/bench_dask.py).
        self.jobs: dict[Any, tuple[_Job, Any]] = {}
        self.completed = as_completed(loop=self.client.loop, with_results=True,
                                      raise_errors=False)
        self.submitted = threading.Event()
        self.closed = False
        self.collector = threading.Thread(target=self._collect, daemon=True,
                                          name="flowrun-dask-outcomes")
        self.collector.start()
        self.requests_name = f"flowrun-requests-{secrets.token_hex(8)}"
        self.children: dict[str, ChildRequests] = {}  # attempt key -> its requests
        self.server: threading.Thread | None = None

    @property
    def slots(self) -> int:
        """The cluster's threads: without ``-n``, flowrun keeps them all busy."""
        return sum(self.client.nthreads().values())

    def accepts_ref(self, ref: Any) -> bool:
        return isinstance(ref, self.Future) and ref.client is self.client

    def submit(self, call: Call, done: Any) -> _Job:
        job = _Job()
        inputs = {name: value for name, value in call.kwargs.items()
                  if self.accepts_ref(value)}
        for name in inputs:  # Dask resolves the futures to their outcomes on the worker
            call.kwargs[name] = None
        try:  # the engine submits from one thread: the packer needs no lock
            key, fn_blob, call_blob = self.packer.pack(call)
            digest = self.digests.get(key)
            if digest is None:
                digest = self.digests[key] = hashlib.blake2b(fn_blob,
                                                             digest_size=16).hexdigest()
        except Exception as exc:  # noqa: BLE001 - e.g. a closure over a lock
            done(_failed(f"cannot send the task to Dask: {type(exc).__name__}: {exc}"))
            return job
        key = f"flowrun-{call.task_id}-{call.attempt}-{secrets.token_hex(4)}"
        if call.spawn is not None:
            job.children = self.children[key] = ChildRequests(
                call.spawn, lambda message: self._answer(key, message))
            self._serve_children()
        job.future = future = self.client.submit(
            run_on_worker, digest, fn_blob, call_blob, inputs, pure=False, key=key,
            requests=self.requests_name if call.spawn is not None else None,
            attempt_key=key)
        with self.lock:
            self.jobs[future] = (job, done)
            self.completed.add(future)
            self.submitted.set()
        return job

    def _collect(self) -> None:
        """The outcomes thread: hands each finished attempt's outcome to the engine."""
        while not self.closed:
            self.submitted.wait()
            for future, result in self.completed:
                with self.lock:
                    job, done = self.jobs.pop(future)
                if job.children is not None:
                    job.children.close()
                    self.children.pop(future.key, None)
                if not job.cancelled:
                    done(_outcome(future, result))
            with self.lock:
                if self.completed.is_empty():
                    self.submitted.clear()

    # -- submit() and run_flow() from tasks on the cluster ----------------------------

    def _serve_children(self) -> None:
        """Start the thread reading the session's request queue (on first need)."""
        if self.server is None:
            from distributed import Queue

            self.requests = Queue(self.requests_name, client=self.client)
            self.server = threading.Thread(target=self._serve, daemon=True,
                                           name="flowrun-dask-children")
            self.server.start()

    def _serve(self) -> None:
        while True:
            try:  # no timeout: the scheduler logs each get() that times out
                key, message = self.requests.get()
            except Exception:  # noqa: BLE001 - the client closed: the session ends
                return
            if key is None:  # shutdown()
                return
            children = self.children.get(key)
            if children is not None:
                children.handle(tuple(message))

    def _answer(self, key: str, message: tuple) -> None:
        from distributed import Queue

        try:
            Queue(f"{key}-answers", client=self.client).put(list(message))
        except Exception:  # noqa: BLE001 - the session is closing; nobody waits
            pass

    def cancel(self, handle: _Job) -> str:
        handle.cancelled = True
        if handle.future is not None:
            handle.output = self._abandon_on_workers(handle.future.key)
            handle.future.cancel()
        return "a running Dask task cannot be stopped: it was abandoned on the cluster"

    def output(self, handle: _Job) -> tuple[str, str, str] | None:
        return handle.output

    def _abandon_on_workers(self, key: str) -> tuple[str, str, str] | None:
        """What the attempt printed so far, from the worker running it (its later
        output is dropped there); None if no worker runs it (any more)."""
        try:
            answers = self.client.run(abandon_on_worker, key, on_error="return",
                                      callback_timeout=ASK_WORKERS_FOR)
        except Exception:  # noqa: BLE001 - the cluster is going away: nothing to keep
            return None
        return next((a for a in answers.values() if isinstance(a, tuple)), None)

    def shutdown(self, wait: bool = True) -> None:
        self.closed = True
        if self.server is not None:
            try:
                self.requests.put([None, None])
                self.server.join(5)
            except Exception:  # noqa: BLE001 - the scheduler is gone already
                pass
        self.submitted.set()
        self.completed.clear()
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


# -- on the worker ---------------------------------------------------------------------

_functions: dict[str, Any] = {}  # digest -> function, kept for the worker's life
_running: dict[str, Captured] = {}  # attempt key -> its capture, while it runs here


def run_on_worker(digest: str, fn_blob: bytes, call_blob: bytes,
                  inputs: dict[str, Outcome], requests: str | None = None,
                  attempt_key: str = "") -> Outcome:
    """Run one attempt where Dask put it; upstream outcomes arrive resolved.
    ``requests``: the session's queue for the task's ``submit()`` calls;
    ``attempt_key``: names its capture while it runs, for ``abandon_on_worker``."""
    ensure_capture()
    fn = _functions.get(digest)
    if fn is None:
        fn = _functions[digest] = load_function(fn_blob)
    values = {name: outcome.get_value() for name, outcome in inputs.items()}
    captured = _running[attempt_key] = Captured()
    link = _ChildLink(requests) if requests is not None else None
    try:
        return run_packed_call(fn, call_blob, values,
                               spawn=link.spawner if link else None, captured=captured)
    finally:
        _running.pop(attempt_key, None)
        if link is not None:
            link.close()


def abandon_on_worker(attempt_key: str) -> tuple[str, str, str] | None:
    """On every worker, when the coordinator gives an attempt up (a timeout, a stop
    signal): what it printed and logged so far if it runs here; its later output is
    dropped (its thread cannot be stopped)."""
    captured = _running.pop(attempt_key, None)
    return abandon_capture(captured) if captured is not None else None


class _ChildLink:
    """The worker's end of one attempt's ``submit()`` calls: requests go to the
    session's queue, answers arrive on the attempt's own (read by a thread started at
    the first request)."""

    def __init__(self, requests: str) -> None:
        from distributed import get_client, get_worker, rejoin, secede

        self.client = get_client()
        self.key = get_worker().get_current_task()
        self.requests = requests
        self.reader: threading.Thread | None = None
        self.spawner = RemoteSpawner(self.send, before_wait=secede, after_wait=rejoin)

    def send(self, message: tuple) -> None:
        from distributed import Queue

        if self.reader is None:
            self.reader = threading.Thread(target=self._read, daemon=True)
            self.reader.start()
        Queue(self.requests, client=self.client).put([self.key, list(message)])

    def _read(self) -> None:
        from distributed import Queue

        answers = Queue(f"{self.key}-answers", client=self.client)
        while True:
            message = answers.get()
            if message[0] == "stop":
                return
            self.spawner.answer(message[1], message[2])

    def close(self) -> None:
        if self.reader is not None:
            from distributed import Queue

            Queue(f"{self.key}-answers", client=self.client).put(["stop"])
            self.reader.join(10)


def _outcome(future: Any, result: Any) -> Outcome:
    if isinstance(result, Outcome):
        result.ref = future  # downstream tasks on this cluster take the future
        return result
    if isinstance(result, tuple) and len(result) == 3:  # an error: (kind, exc, traceback)
        result = result[1]
    if type(result).__name__ == "KilledWorker":
        return _failed("dask: KilledWorker: the worker running it died (see its log)")
    if isinstance(result, BaseException):  # a lost connection, cancelled, ...
        return _failed(f"dask: {type(result).__name__}: {result}")
    return _failed(f"dask: unexpected result {type(result).__name__}")


_failed = failed_outcome
