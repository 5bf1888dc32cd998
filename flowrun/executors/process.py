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
import shutil
import sys
import tempfile
from typing import Any

from flowrun.plugin.capture import DEFAULT_LIMIT
from flowrun.executors.link import Link, worker_options
from flowrun.executors.pool import Job, LinkPool, Workers
from flowrun.executors.worker import read_bounded
from flowrun.plugin import RESULT_FILES, Outcome, ResultFile, failed_outcome, hookimpl

NAME = "process"
#: The tag of a worker started beyond the pool for a task with a timeout: it is not
#: kept once the queue is empty.
EXTRA = "extra"
WORKER_ARGV = [sys.executable, "-m", "flowrun.executors.worker"]


class ProcessExecutor(LinkPool):
    destination = "to a worker process"

    def __init__(self, size: int, rootdir: str,
                 result_files: tuple[str, int] | None = None,
                 worker_options: list[str] = (), max_output: int = DEFAULT_LIMIT) -> None:
        super().__init__(rootdir)
        self.size = size
        self.result_files = result_files  # where workers write large results themselves
        self.argv = [*WORKER_ARGV, *worker_options] + ([] if result_files is None else [
            "--results-dir", result_files[0], "--result-threshold", str(result_files[1])])
        self.max_output = max_output
        self.capture_root = tempfile.mkdtemp(prefix="flowrun-capture-")
        self.workers = Workers()
        with self.lock:  # start a worker per CPU now: their start-up overlaps the run's
            for _ in range(min(size, os.cpu_count() or 1)):
                self.workers.idle.append(self._start_link())

    def place(self, job: Job) -> None:
        link = self._free_link()
        if link is None and job.call.timeout and not self.closed:
            link = self._start_link(EXTRA)  # the engine's timeout clock runs from
                                            # submit, so this must not queue
        if link is None:
            self.queue.append(job)
        else:
            self.send(job, link)

    def all_links(self) -> list[Link]:
        return list(self.workers.links)

    def _free_link(self) -> Link | None:
        """An idle worker, or a new one while the pool is below its size (lock held)."""
        if self.workers.idle:
            return self.workers.idle.pop()
        if self.workers.live() < self.size and not self.closed:
            return self._start_link()
        return None

    def _start_link(self, tag: str | None = None) -> Link:
        folder = tempfile.mkdtemp(dir=self.capture_root)  # 0700
        link = Link([*self.argv, "--capture-dir", folder], self._on_outcome, self._on_exit,
                    on_request=self.on_request, tag=tag, capture_dir=folder)
        self.workers.links.add(link)
        return link

    def output(self, handle: Job) -> tuple[str, str, str] | None:
        """What a cancelled attempt wrote, from its worker's capture files: complete up
        to the kill, output of C code and subprocesses included."""
        link = handle.link
        if link is None or not link.killed:  # queued, or it ended before the cancel
            return None
        return self._read_capture(link)

    def _read_capture(self, link: Link) -> tuple[str, str, str]:
        """What the attempt on ``link``, a worker now gone or being killed, wrote; its
        files are removed."""
        folder = link.capture_dir or ""
        texts = tuple(read_bounded(os.path.join(folder, name), self.max_output)
                      for name in ("stdout", "stderr", "log"))
        shutil.rmtree(folder, ignore_errors=True)
        return texts  # type: ignore[return-value]

    def _next_job(self, link: Link) -> None:
        """Give ``link`` the next queued job, or park it (lock held)."""
        while self.queue:
            job = self.queue.popleft()
            if not job.cancelled:
                self.send(job, link)
                return
        self.workers.idle.append(link)

    def lend(self, link: Link, delta: int) -> None:
        """One more worker while a parent waits (it stays, idle, for the next parent
        that waits: a worker's start-up is the dearest part of a child)."""
        with self.lock:
            self.size += delta
            while delta > 0 and self.queue and not self.closed:
                delta -= 1
                self._next_job(self._free_link() or self._start_link())

    def expect_children(self, link: Link) -> None:
        """A task started children: it will most likely wait for them, so a worker
        for them starts now, while the requests are on their way."""
        with self.lock:
            if not self.workers.idle and not self.closed:
                self.workers.idle.append(self._start_link())

    def accepts_ref(self, ref: Any) -> bool:
        """A result file an upstream worker wrote: the downstream worker reads it."""
        return isinstance(ref, ResultFile)

    def _on_outcome(self, link: Link, job: Job | None, outcome: Outcome) -> None:
        if outcome.result_ref is not None and self.result_files is not None:
            outcome.ref = ResultFile(self.result_files[0], outcome.result_ref,
                                     outcome.result_format)
        if job is not None:
            job.finish(outcome)
        with self.lock:
            if link.killed or self.closed:
                return
            if link.tag == EXTRA and not self.queue:
                link.retired = True  # an extra worker is not kept once its job is done
                link.kill()
                return
            self._next_job(link)

    def _on_exit(self, link: Link, job: Job | None) -> None:
        if job is not None:
            reason = link.error or f"worker died ({link.exit_reason()})"
            if not link.ready and not link.error:
                reason = f"worker process failed to start ({link.exit_reason()})"
            outcome = failed_outcome(reason)
            if not job.cancelled:  # (a cancelled job's output is read by output())
                outcome.stdout, outcome.stderr, outcome.log = self._read_capture(link)
            job.finish(outcome)
        else:
            shutil.rmtree(link.capture_dir or "", ignore_errors=True)
        with self.lock:
            self.workers.forget(link)
            if self.closed or self.workers.live() >= self.size:
                return
            if link.retired and not self.queue:
                return
            if not (link.ready or link.killed or self.queue):
                return  # a worker that cannot start is restarted only for queued work
            self._next_job(self._start_link())  # the replacement

    def shutdown(self, wait: bool = True) -> None:
        self.stop_links(2.0)
        shutil.rmtree(self.capture_root, ignore_errors=True)


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
    return ProcessExecutor(pool_size(config), config.rootdir,
                           config.stash.get(RESULT_FILES, None), worker_options(config),
                           int(config.setting("max_output_size")))



@hookimpl
def flowrun_executors() -> list[str]:
    return [NAME]
