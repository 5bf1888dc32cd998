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
    Executor,
    ExecutorError,
    Outcome,
    Packer,
    UsageError,
    ensure_capture,
    failed_outcome,
    load_function,
    run_packed_call,
)


class _Job:
    __slots__ = ("future", "cancelled")

    def __init__(self) -> None:
        self.future: Any = None
        self.cancelled = False


class DaskExecutor(Executor):

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
        job.future = future = self.client.submit(
            run_on_worker, digest, fn_blob, call_blob, inputs, pure=False,
            key=f"flowrun-{call.task_id}-{call.attempt}-{secrets.token_hex(4)}")
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
                if not job.cancelled:
                    done(_outcome(future, result))
            with self.lock:
                if self.completed.is_empty():
                    self.submitted.clear()

    def cancel(self, handle: _Job) -> str:
        handle.cancelled = True
        if handle.future is not None:
            handle.future.cancel()
        return "a running Dask task cannot be stopped: it was abandoned on the cluster"

    def shutdown(self, wait: bool = True) -> None:
        self.closed = True
        self.submitted.set()
        self.completed.clear()
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


# -- on the worker ---------------------------------------------------------------------

_functions: dict[str, Any] = {}  # digest -> function, kept for the worker's life


def run_on_worker(digest: str, fn_blob: bytes, call_blob: bytes,
                  inputs: dict[str, Outcome]) -> Outcome:
    """Run one attempt where Dask put it; upstream outcomes arrive resolved."""
    ensure_capture()
    fn = _functions.get(digest)
    if fn is None:
        fn = _functions[digest] = load_function(fn_blob)
    values = {name: outcome.get_value() for name, outcome in inputs.items()}
    return run_packed_call(fn, call_blob, values)


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
