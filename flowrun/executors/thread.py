"""[plugin] The default executor: attempts run in threads of this process.

Threads are started on demand and reused; the engine caps how many attempts run at
once, so a thread stuck in a timed-out attempt (threads cannot be killed) is simply
abandoned and a fresh thread takes the next attempt.
"""
from __future__ import annotations

import queue
import threading
from typing import Any

from flowrun.plugin import Call, hookimpl, run_attempt

NAME = "thread"


class _Job:
    __slots__ = ("call", "done", "cancelled")

    def __init__(self, call: Call, done: Any) -> None:
        self.call, self.done, self.cancelled = call, done, False


class ThreadExecutor:
    in_process = True
    #: ``done()`` runs on the worker, which is idle from then on: the engine may do its
    #: bookkeeping there and submit the next attempt, which this thread then takes.
    done_on_worker = True

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0  # threads waiting for a job that no submit has claimed yet
        self._threads: list[threading.Thread] = []

    def submit(self, call: Call, done: Any) -> _Job:
        job = _Job(call, done)
        with self._lock:
            if self._idle:
                self._idle -= 1
            else:
                self._start_thread()
        self._jobs.put(job)
        return job

    def _start_thread(self) -> None:
        thread = threading.Thread(target=self._work, name=f"flowrun-{len(self._threads)}",
                                  daemon=True)
        self._threads.append(thread)
        thread.start()

    def _work(self) -> None:
        jobs, lock = self._jobs, self._lock
        while True:
            job = jobs.get()
            if job is None:
                return
            outcome = None if job.cancelled else run_attempt(job.call)
            done, job.call, job.done = job.done, None, None  # do not keep results alive
            with lock:
                self._idle += 1  # before done(): a submit() inside it claims this thread
            if outcome is not None and not job.cancelled:
                done(outcome)

    def cancel(self, handle: _Job) -> str:
        handle.cancelled = True  # a running thread is abandoned; its outcome is dropped
        return "the thread could not be stopped and was abandoned"

    def shutdown(self, wait: bool = True) -> None:
        # The engine has already waited for every attempt it still cares about; the
        # threads left busy are abandoned ones, which must not hold up the exit.
        for _ in self._threads:
            self._jobs.put(None)


@hookimpl
def flowrun_make_executor(name: str, config: Any) -> ThreadExecutor | None:
    return ThreadExecutor() if name == NAME else None


@hookimpl
def flowrun_executors() -> list[str]:
    return [NAME]
