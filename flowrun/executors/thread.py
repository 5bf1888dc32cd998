"""[plugin] The default executor: attempts run in threads of this process.

Threads are started on demand and reused; the engine caps how many attempts run at
once, so a thread stuck in a timed-out attempt (threads cannot be killed) is simply
abandoned and a fresh thread takes the next attempt. The thread that submits never
waits for a new worker to be scheduled (``Thread.start()`` does: a few ms each on a
busy machine): a short-lived helper starts it, and the job waits in the queue.
"""
from __future__ import annotations

import _thread
import queue
import threading
from typing import Any

from flowrun.plugin import (Call, Captured, abandon_capture, capture_so_far, hookimpl,
                            run_attempt)

NAME = "thread"


class _Job:
    __slots__ = ("call", "done", "cancelled", "captured", "output")

    def __init__(self, call: Call, done: Any) -> None:
        self.call, self.done, self.cancelled = call, done, False
        self.captured = Captured()  # what run_attempt fills: read if it is abandoned
        self.output: tuple[str, str, str] | None = None


class ThreadExecutor:
    in_process = True
    #: ``done()`` runs on the worker, which is free from then on: the engine may do its
    #: bookkeeping there, and the first attempt it submits from inside ``done()`` is
    #: this thread's next job, with no queue and no other thread woken.
    done_on_worker = True

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0  # threads waiting for a job that no submit has claimed yet
        self._started = 0  # workers started (or being started)
        self._here = threading.local()  # on a worker inside done(): ``free``, ``next``

    def submit(self, call: Call, done: Any) -> _Job:
        job = _Job(call, done)
        here = self._here
        if getattr(here, "free", False):
            here.free, here.next = False, job
            return job
        with self._lock:
            if self._idle:
                self._idle -= 1
                name = None
            else:
                name = f"flowrun-{self._started}"
                self._started += 1
        self._jobs.put(job)
        if name is not None:
            _thread.start_new_thread(self._start_thread, (name,))
        return job

    def _start_thread(self, name: str) -> None:
        """On a helper thread: start the worker, and wait for it here."""
        thread = threading.Thread(target=self._work, name=name, daemon=True)
        try:
            thread.start()
        except RuntimeError:  # no thread to be had: this helper does the work itself
            self._work()

    def _work(self) -> None:
        jobs, lock, here = self._jobs, self._lock, self._here
        here.next = None
        job = jobs.get()
        while job is not None:
            outcome = None if job.cancelled else run_attempt(job.call, job.captured)
            done, job.call, job.done = job.done, None, None  # do not keep results alive
            if outcome is not None and not job.cancelled:
                here.free = True
                try:
                    done(outcome)
                finally:
                    here.free = False
            job, here.next = here.next, None
            if job is None:
                with lock:
                    self._idle += 1
                job = jobs.get()

    def cancel(self, handle: _Job) -> str:
        handle.cancelled = True  # a running thread is abandoned; its outcome is dropped
        handle.output = abandon_capture(handle.captured)  # and so is its later output
        return "the thread could not be stopped and was abandoned"

    def output(self, handle: _Job) -> tuple[str, str, str] | None:
        return handle.output

    def output_so_far(self, handle: _Job) -> tuple[str, str, str] | None:
        return None if handle.cancelled else capture_so_far(handle.captured)

    def shutdown(self, wait: bool = True) -> None:
        # The engine has already waited for every attempt it still cares about; the
        # threads left busy are abandoned ones, which must not hold up the exit.
        for _ in range(self._started):
            self._jobs.put(None)


@hookimpl
def flowrun_make_executor(name: str, config: Any) -> ThreadExecutor | None:
    return ThreadExecutor() if name == NAME else None


@hookimpl
def flowrun_executors() -> list[str]:
    return [NAME]
