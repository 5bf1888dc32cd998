"""What the process and SSH executors share: jobs on their way to worker links, the
queue of jobs waiting for one, groups of links started alike, cancelling and stopping.

Each executor says where a job goes (``place``) and what a finished or dead worker
means for its links; the rest is here.
"""
from __future__ import annotations

import threading
from collections import deque
from typing import Any

from flowrun.plugin.children import ChildRequests
from flowrun.executors.link import Link
from flowrun.plugin.wire import Packer
from flowrun.plugin import Call, Captured, Outcome, failed_outcome


class Job:
    """One attempt: queued, or sent to ``link`` (``wire`` is the packed call until
    the link wrote it)."""

    __slots__ = ("call", "done", "cancelled", "link", "wire", "children", "printed")

    def __init__(self, call: Call, done: Any) -> None:
        self.call, self.done = call, done
        self.cancelled = False
        self.link: Link | None = None
        self.wire: tuple | None = None
        self.children: ChildRequests | None = None  # its submit()s, once it made one
        self.printed: Captured | None = None  # lines the worker streamed, once it did

    def keep_output(self, slot: str, text: str) -> None:
        """A line the task printed or logged, streamed by the worker as it came, so it
        outlives the worker (bounded by ``max_output_size`` like any capture)."""
        if self.printed is None:
            self.printed = Captured()
        self.printed.buffer(slot).append(text)

    def output(self) -> tuple[str, str, str] | None:
        """What the worker streamed so far (stdout, stderr, log), or None."""
        printed = self.printed
        if printed is None:
            return None
        return tuple(b.value() if b is not None else ""  # type: ignore[return-value]
                     for b in (printed.stdout, printed.stderr, printed.log))

    def finish(self, outcome: Outcome) -> None:
        """Hand ``outcome`` to the engine, unless it cancelled the attempt. An attempt
        that failed without output of its own (its worker died) gets what was
        streamed."""
        if self.children is not None:
            self.children.close()
        if self.cancelled:
            return
        if self.printed is not None and not (outcome.stdout or outcome.stderr or outcome.log):
            outcome.stdout, outcome.stderr, outcome.log = self.output()  # type: ignore[misc]
        self.done(outcome)


class Workers:
    """Links started alike (the process pool, or one SSH host): all that run, and the
    idle ones among them."""

    def __init__(self) -> None:
        self.links: set[Link] = set()
        self.idle: list[Link] = []

    def live(self) -> int:
        """How many links run or start, not counting those being killed."""
        return sum(not link.killed for link in self.links)

    def forget(self, link: Link) -> None:
        """``link``'s worker is gone."""
        self.links.discard(link)
        if link in self.idle:
            self.idle.remove(link)


class LinkPool:
    """The base of executors whose attempts run in worker links. Subclasses implement
    ``place`` and ``all_links``; ``lock`` guards their bookkeeping and ``queue``."""

    in_process = False
    #: Where a task goes, for "cannot send the task ...".
    destination = "to a worker"

    def __init__(self, rootdir: str) -> None:
        self.packer = Packer(rootdir)
        self.lock = threading.Lock()
        self.queue: deque[Job] = deque()
        self.closed = False

    def submit(self, call: Call, done: Any) -> Job:
        job = self.new_job(call, done)
        refusal = self.refuse(call)
        if refusal is not None:
            done(failed_outcome(refusal))
            return job
        try:
            job.wire = self.packer.pack(call)
        except Exception as exc:  # noqa: BLE001 - e.g. a closure over a lock
            done(failed_outcome(f"cannot send the task {self.destination}: "
                                f"{type(exc).__name__}: {exc}"))
            return job
        with self.lock:
            self.place(job)
        return job

    def new_job(self, call: Call, done: Any) -> Job:
        return Job(call, done)

    def refuse(self, call: Call) -> str | None:
        """Why ``call`` cannot run here at all (one line), or None."""
        return None

    def place(self, job: Job) -> None:
        """Send ``job`` to a link, or queue it (lock held)."""
        raise NotImplementedError

    def all_links(self) -> list[Link]:
        """Every link that may still run (lock held)."""
        raise NotImplementedError

    supports_children = True

    def on_request(self, link: Link, job: Job | None, message: tuple) -> None:
        """The task on ``link`` printed a line, called ``submit()`` or ``run_flow()``,
        or waits for its children (link's reader thread)."""
        if job is not None and message[0] == "out":
            job.keep_output(message[1], message[2])
            return
        if job is None or job.call.spawn is None:
            return
        if job.children is None:
            job.children = ChildRequests(job.call.spawn, link.reply,
                                         lambda delta: self.lend(link, delta))
            self.expect_children(link)
        job.children.handle(message)

    def expect_children(self, link: Link) -> None:
        """The task on ``link`` made its first request (a chance to get ready)."""

    def lend(self, link: Link, delta: int) -> None:
        """The task on ``link`` waits for its children (+1) or stopped (-1): its worker
        slot is theirs meanwhile."""
        raise NotImplementedError

    @staticmethod
    def send(job: Job, link: Link) -> None:
        job.link = link
        link.send(job, *job.wire)

    def cancel(self, handle: Job) -> None:
        with self.lock:
            handle.cancelled = True
            link = handle.link
            if link is None:
                if handle in self.queue:
                    self.queue.remove(handle)
                return
        if link.job is handle:
            link.kill()

    def output(self, handle: Job) -> tuple[str, str, str] | None:
        return handle.output()

    def stop_links(self, grace: float) -> None:
        """Take no more work, kill every worker and reap it (SIGKILL after ``grace``
        seconds): nothing is left running after a session."""
        with self.lock:
            self.closed = True
            self.queue.clear()
            links = self.all_links()
        for link in links:
            link.kill()
        for link in links:
            link.wait(grace)
