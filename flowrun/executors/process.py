"""[plugin] The process executor: attempts run in a pool of reused worker processes.

A small supervisor rather than ``ProcessPoolExecutor``: that pool cannot stop a running
task, and killing one of its workers breaks the whole pool. Here each worker is a
``python -m flowrun.executors.worker`` subprocess in its own process group, running one attempt at
a time; a timeout kills that group and a fresh worker takes its place; a worker that
dies fails only its own attempt. Workers are plain subprocesses (no fork of this
multi-threaded process) and never preload user modules, so edited code is never stale.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from collections import deque
from typing import Any

from flowrun.executors.link import Link
from flowrun.executors.wire import Packer
from flowrun.plugin import FAILED, Call, Outcome, hookimpl

NAME = "process"
WORKER_ARGV = [sys.executable, "-m", "flowrun.executors.worker"]


class Job:
    __slots__ = ("call", "done", "cancelled", "link", "wire")

    def __init__(self, call: Call, done: Any) -> None:
        self.call, self.done = call, done
        self.cancelled = False
        self.link: Link | None = None
        self.wire: tuple | None = None


def failed(message: str, started: float | None = None) -> Outcome:
    now = time.time()
    return Outcome(status=FAILED, error=message, summary=message,
                   started=started or now, finished=now)


class ProcessExecutor:
    in_process = False

    def __init__(self, size: int, rootdir: str) -> None:
        self.size = size
        self.packer = Packer(rootdir)
        self.lock = threading.Lock()
        self.links: set[Link] = set()
        self.idle: list[Link] = []
        self.queue: deque[Job] = deque()
        self.closed = False
        with self.lock:  # start a worker per CPU now: their start-up overlaps the run's
            for _ in range(min(size, os.cpu_count() or 1)):
                self.idle.append(self._start_link())

    def submit(self, call: Call, done: Any) -> Job:
        job = Job(call, done)
        try:
            wire = self.packer.pack(call)
        except Exception as exc:  # noqa: BLE001 - e.g. a closure over a lock
            done(failed(f"cannot send the task to a worker process: "
                        f"{type(exc).__name__}: {exc}"))
            return job
        job.wire = wire
        with self.lock:
            link = self._free_link()
            if link is None and call.timeout and not self.closed:
                link = self._start_link()  # an extra worker: the engine's timeout clock
                                           # runs from submit, so this must not queue
            if link is None:
                self.queue.append(job)
                return job
            job.link = link
            link.send(job, *wire)
        return job

    def _free_link(self) -> Link | None:
        """An idle worker, or a new one while the pool is below its size (lock held)."""
        if self.idle:
            return self.idle.pop()
        if len(self.links) < self.size and not self.closed:
            return self._start_link()
        return None

    def _start_link(self) -> Link:
        link = Link(WORKER_ARGV, self._on_outcome, self._on_exit)
        self.links.add(link)
        return link

    def _next_job(self, link: Link) -> None:
        """Give ``link`` the next queued job, or park it (lock held)."""
        while self.queue:
            job = self.queue.popleft()
            if not job.cancelled:
                job.link = link
                link.send(job, *job.wire)
                return
        self.idle.append(link)

    def _on_outcome(self, link: Link, job: Job | None, outcome: Outcome) -> None:
        if job is not None and not job.cancelled:
            job.done(outcome)
        with self.lock:
            if link.killed or self.closed:
                return
            if len(self.links) > self.size and not self.queue:
                link.retired = True  # an extra worker is not kept once its job is done
                link.kill()
                return
            self._next_job(link)

    def _on_exit(self, link: Link, job: Job | None) -> None:
        if job is not None and not job.cancelled:
            reason = link.error or f"worker died ({link.exit_reason()})"
            if not link.ready and not link.error:
                reason = f"worker process failed to start ({link.exit_reason()})"
            job.done(failed(reason))
        with self.lock:
            self.links.discard(link)
            if link in self.idle:
                self.idle.remove(link)
            if link.retired or len(self.links) >= self.size and not self.queue:
                return
            if self.closed or not (link.ready or link.killed or self.queue):
                return  # a worker that cannot start is restarted only for queued work
            self._next_job(self._start_link())  # the replacement

    def cancel(self, handle: Job) -> None:
        with self.lock:
            handle.cancelled = True
            link = handle.link
            if link is None:
                try:
                    self.queue.remove(handle)
                except ValueError:
                    pass
                return
        if link.job is handle:
            link.kill()

    def shutdown(self, wait: bool = True) -> None:
        """Kill every worker and reap it: nothing is left running after a session."""
        with self.lock:
            self.closed = True
            links = list(self.links)
            self.queue.clear()
        for link in links:
            link.kill()
        for link in links:
            link.wait(2.0)


def pool_size(config: Any) -> int:
    """``-n`` / ``workers`` when given, else the CPU count (the thread executor's
    default, CPUs + 4, would oversubscribe CPU-bound work)."""
    if config.getoption("workers") is not None:
        return config.workers
    return os.cpu_count() or 1


@hookimpl
def flowrun_make_executor(name: str, config: Any) -> ProcessExecutor | None:
    if name != NAME:
        return None
    return ProcessExecutor(pool_size(config), config.rootdir)


@hookimpl
def flowrun_executors() -> list[str]:
    return [NAME]
