"""Finishing an attempt on the worker thread that ran it.

With an executor whose ``done()`` runs on a worker that is free for other work
(``done_on_worker``: the thread executor), that worker takes the engine's lock and does
the scheduler's bookkeeping itself: it records the outcome, decides the downstream and
submits what became ready, which the same thread then picks up. A chain of tasks so
runs without a round trip through the scheduler thread per step, and a fan-out without
waking it per task (PERF.md: the hand-off was a quarter of a chain step).

Every change to run state still happens under one lock, so the store records them in
order. No worker waits for that lock: one that finds it taken leaves its outcome in the
``inbox``, which whoever holds the lock empties before letting go of it (and looks at
again after), so eight workers never queue up behind each other. The scheduler thread
keeps what only it does: signals, timers, beginning runs and starting tasks on other
executors. A worker that leaves it such work, or a deadline earlier than the one it
sleeps until, wakes it with a ``Wake`` event.
"""
from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Callable

from flowrun.engine.events import AttemptDone, Wake
from flowrun.plugin import Outcome
from flowrun.plugin.executor import Declared

if TYPE_CHECKING:
    from flowrun.engine.loop import Engine
    from flowrun.engine.nodes import Node


class OnWorker:
    """The ``done`` callbacks the engine gives executors, and what a worker may do."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.closed = False  # the run is over: a late outcome changes nothing
        self.failure: BaseException | None = None  # raised by the loop, as if its own
        self.woken = False  # a Wake is on its way: no need for another
        self.sleeps_until: float | None = None  # the loop's deadline (None: no timer)
        self.inbox: deque[tuple[Declared, AttemptDone]] = deque()  # (executor, its outcome)

    def callback(self, declared: Declared, node: Node, token: object
                 ) -> Callable[[Outcome], None]:
        """What ``declared.executor`` calls with the attempt's outcome."""
        if declared.done_on_worker:
            return lambda outcome: self.finish(declared, AttemptDone(node, token, outcome))
        put = self.engine.events.put
        return lambda outcome: put(AttemptDone(node, token, outcome))

    def finish(self, declared: Declared, event: AttemptDone) -> None:
        """On the worker: the outcome goes in the inbox, emptied here if the lock is free."""
        self.inbox.append((declared, event))
        self.drain()

    def drain(self) -> None:
        """Empty the inbox unless someone holds the lock (who then empties it). Call
        without holding the lock."""
        inbox, lock = self.inbox, self.engine.lock
        while inbox and lock.acquire(blocking=False):
            try:
                self.work()
            finally:
                lock.release()

    def work(self) -> None:
        """Holding the lock: handle each outcome in the inbox and start what is ready
        on its executor."""
        engine, inbox = self.engine, self.inbox
        left = False
        try:
            while inbox and not self.closed:
                declared, event = inbox.popleft()
                engine.handle(event)
                left = engine.start_ready(here=declared) or left
            engine.flush_if_due()
        except BaseException as exc:  # noqa: BLE001 - the loop raises it
            self.failure, self.closed = exc, True
            left = True
        if self.closed:
            inbox.clear()
            if self.failure is None:
                return  # the run is over: nothing to wake
        if left or self._loop_must_look():
            self.wake()

    def _loop_must_look(self) -> bool:
        engine = self.engine
        if not engine.unfinished_runs or engine.order.startable:
            return True
        due = engine.next_deadline()
        return due is not None and (self.sleeps_until is None or due < self.sleeps_until)

    def wake(self) -> None:
        if not self.woken:
            self.woken = True
            self.engine.events.put(Wake())

    def sleeping(self, until: float | None) -> None:
        """The loop is about to wait (until ``until``, monotonic) and release the lock."""
        self.woken, self.sleeps_until = False, until

    def check(self) -> None:
        """In the loop, after waking: a worker's error is the loop's error."""
        if self.failure is not None:
            raise self.failure
