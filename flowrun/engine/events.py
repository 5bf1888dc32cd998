"""What the engine's loop reacts to: events other threads put on its queue, and timers it
sets itself. Both are small typed objects, so a reader sees what each one carries and a
retry delay can never be mistaken for a timeout (a Ctrl-C settles the first and leaves
the second alone). Plain slotted classes rather than dataclasses: ten dataclasses cost
every ``flowrun`` start ~4 ms to create."""
from __future__ import annotations

import heapq
import itertools
from typing import TYPE_CHECKING, Any, Callable, Iterator, Union

from flowrun.engine.nodes import Node
from flowrun.model import Report
from flowrun.plugin import Outcome

if TYPE_CHECKING:  # concurrent.futures loads logging: only runs with children need it
    from concurrent.futures import Future

# -- events: put on the queue from executor, task and signal handlers ----------------------


class AttemptDone:
    """An executor's ``done(outcome)`` for the attempt ``token`` of ``node``."""

    __slots__ = ("node", "token", "outcome")

    def __init__(self, node: Node, token: object, outcome: Outcome) -> None:
        self.node, self.token, self.outcome = node, token, outcome


class SpawnChild:
    """A running task called ``submit(fn, *args, **kwargs)``."""

    __slots__ = ("parent", "fn", "args", "kwargs", "future")

    def __init__(self, parent: Node, fn: Callable, args: tuple,
                 kwargs: dict, future: Future) -> None:
        self.parent = parent
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.future = future


class StartSubflow:
    """A running task called ``run_flow(target, **params)``."""

    __slots__ = ("parent", "target", "params", "future")

    def __init__(self, parent: Node, target: Any, params: dict, future: Future) -> None:
        self.parent = parent
        self.target = target
        self.params = params
        self.future = future


class CapacityBlock:
    """A worker starts (+1) or stops (-1) waiting on a child's result: while it waits,
    its slot is lent to the children."""

    __slots__ = ("delta",)

    def __init__(self, delta: int) -> None:
        self.delta = delta


class Interrupt:
    """Ctrl-C, SIGTERM or SIGHUP reached the process (``signal``: its name)."""

    __slots__ = ("signal",)

    def __init__(self, signal: str = "SIGINT") -> None:
        self.signal = signal


class Wake:
    """A worker that finished an attempt left the loop something to do (``onworker``)."""

    __slots__ = ()


Event = Union[AttemptDone, SpawnChild, StartSubflow, CapacityBlock, Interrupt, Wake]

# -- timers: deadlines the loop keeps in a heap ---------------------------------------------


class RetryTimer:
    """``node`` failed and starts again at ``due``; ``last`` is the report of the attempt
    that failed, which becomes final if the retry never happens."""

    __slots__ = ("due", "node", "last")

    def __init__(self, due: float, node: Node, last: Report) -> None:
        self.due, self.node, self.last = due, node, last


class TimeoutTimer:
    """Attempt ``token`` of ``node`` fails at ``due`` unless it finished first."""

    __slots__ = ("due", "node", "token", "executor", "handle")

    def __init__(self, due: float, node: Node, token: object,
                 executor: Any, handle: Any) -> None:  # executor: its Declared
        self.due = due
        self.node = node
        self.token = token
        self.executor = executor
        self.handle = handle


class OutputTimer:
    """Time to store what running attempts have printed so far (a live view's tail)."""

    __slots__ = ("due",)

    def __init__(self, due: float) -> None:
        self.due = due


class GraceTimer:
    """The ``interrupt_grace`` after the first stop signal is over: stop what still runs."""

    __slots__ = ("due",)

    def __init__(self, due: float) -> None:
        self.due = due


class StateWaitTimer:
    """``node`` waits to start until its flow's state lock is free (``statelocks``)."""

    __slots__ = ("due", "node")

    def __init__(self, due: float, node: Node) -> None:
        self.due, self.node = due, node


class SlotPollTimer:
    """Tasks waiting for a slot of a shared store look again (another host may have
    given one back)."""

    __slots__ = ("due",)

    def __init__(self, due: float) -> None:
        self.due = due


Timer = Union[RetryTimer, TimeoutTimer, GraceTimer, StateWaitTimer, OutputTimer,
              SlotPollTimer]


class Timers:
    """Pending timers, soonest first (a heap; equal deadlines keep the order set)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()

    def add(self, timer: Timer) -> None:
        heapq.heappush(self._heap, (timer.due, next(self._seq), timer))

    def next_due(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> Iterator[Timer]:
        """Take out and yield, in order, every timer due by ``now``."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            yield heapq.heappop(heap)[2]

    def take_retries(self, which: Callable[[RetryTimer], bool] | None = None
                     ) -> list[RetryTimer]:
        """Take out every retry timer (of ``which`` only, if given; in deadline order);
        timeouts stay."""
        def taken(entry: tuple[float, int, Timer]) -> bool:
            timer = entry[2]
            return isinstance(timer, RetryTimer) and (which is None or which(timer))
        retries = sorted(e for e in self._heap if taken(e))
        if retries:
            self._heap = [e for e in self._heap if not taken(e)]
            heapq.heapify(self._heap)
        return [e[2] for e in retries]  # type: ignore[misc]
