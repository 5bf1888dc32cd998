"""The executor interface: where an attempt runs, and what it declares it can do.

An executor is made by a plugin's ``flowrun_make_executor(name, config)``. The engine
calls ``submit`` for every attempt it starts (never more at once than its ``-n`` cap),
and the executor calls ``done(outcome)`` exactly once per attempt, from any thread,
unless ``cancel`` came first (after ``cancel`` a late ``done`` is ignored).

Subclassing ``Executor`` is optional (the optional members are read with their
defaults from any object, once, into a ``Declared`` when the executor is made), but it
documents every member in one place.
"""
from __future__ import annotations

from typing import Any, Callable

from flowrun.plugin.attempt import Call, Outcome
from flowrun.model import Task

#: What ``submit`` receives to hand an attempt's outcome back (call it from any thread).
Done = Callable[[Outcome], None]


class Executor:
    """Runs attempts. ``submit``, ``cancel`` and ``shutdown`` are required; the rest are
    optional capabilities, declared here with the value the engine assumes when an
    executor does not have them."""

    #: True when attempts run in this process: results need no serialization round
    #: trip, and ``submit()`` children, ``run_flow()`` and the task-call hook are
    #: available to tasks (the engine sets ``call.spawn`` and ``call.hook``).
    in_process: bool = False

    #: True when ``done()`` is called on a worker thread of this process that holds no
    #: lock and is free until its next job, and ``submit()`` may be called from inside
    #: it: the engine then finishes the attempt and starts the next ones right there,
    #: without a hand-off to its own thread (the thread executor).
    done_on_worker: bool = False

    #: How many attempts it can run at once (a cluster's threads), or None. When set,
    #: the default ``-n`` rises to it.
    slots: int | None = None

    #: True when tasks running here may ``submit()`` children and ``run_flow()``
    #: subflows although they run elsewhere: the engine sets ``call.spawn`` (it is not
    #: pickled), and the executor relays the task's requests to it, with
    #: ``flowrun.plugin.RemoteSpawner`` where the attempt runs and ``ChildRequests``
    #: here (``flowrun.plugin.children``). In-process executors need not set it.
    supports_children: bool = False

    def submit(self, call: Call, done: Done) -> Any:
        """Start ``call`` (run it with ``run_attempt`` where the work happens) and return
        a handle for ``cancel``."""
        raise NotImplementedError

    def cancel(self, handle: Any) -> str | None:
        """Stop the attempt: drop it if queued, kill it if the executor can (process,
        SSH), abandon it otherwise (threads cannot be killed). May return a few words
        for the user about what happened (the timeout message shows them)."""
        raise NotImplementedError

    def output(self, handle: Any) -> tuple[str, str, str] | None:
        """Called right after ``cancel(handle)`` of a running attempt (its timeout, a
        stop signal): what it had printed and logged until then, as (stdout, stderr,
        log), so it is stored with the failed attempt; None if the executor cannot say.
        Optional; the default says nothing."""
        return None

    def output_so_far(self, handle: Any) -> tuple[str, str, str] | None:
        """What a running attempt has printed and logged until now, as (stdout, stderr,
        log), for live views (the store keeps it while the attempt runs); None if the
        executor cannot say. Called every few seconds from the engine's thread.
        Optional; the default says nothing."""
        return None

    def shutdown(self, wait: bool = True) -> None:
        """Release workers. ``wait=False``: do not wait for running attempts."""
        raise NotImplementedError

    def check(self, tasks: list[Task]) -> None:
        """Before any task runs: raise ``UsageError`` (naming the setting) when this
        executor cannot run ``tasks`` as configured, so a bad setting is one line instead
        of every task failing on its own (SSH: no host, a host name that resolves
        nowhere). Optional; the default accepts everything."""

    def accepts_ref(self, ref: Any) -> bool:
        """Results by reference: an executor that keeps results where they were made (a
        Dask cluster) sets ``Outcome.ref``; when this answers True for an upstream's
        ref, the engine passes the ref instead of the value to tasks run here, and
        decodes the stored result only when something else needs the value."""
        return False


class Declared:
    """An executor with its declared capabilities, read once when it is made: the
    engine and the session ask these fields, never the executor with ``getattr``.
    (A plain slotted class: a dataclass costs ~0.5 ms to make at every start.)"""

    __slots__ = ("name", "executor", "in_process", "done_on_worker", "slots",
                 "supports_children", "accepts_ref", "check", "output", "so_far")

    def __init__(self, name: str, executor: Any, *, in_process: bool = False,
                 done_on_worker: bool = False, slots: int | None = None,
                 supports_children: bool = False,
                 accepts_ref: Callable[[Any], bool] | None = None,
                 check: Callable[[list[Task]], None] | None = None,
                 output: Callable[[Any], tuple[str, str, str] | None] | None = None,
                 so_far: Callable[[Any], tuple[str, str, str] | None] | None = None) -> None:
        self.name, self.executor = name, executor
        self.in_process, self.done_on_worker = in_process, done_on_worker
        self.slots, self.supports_children = slots, supports_children
        #: ``accepts_ref`` if the executor has its own (None: results go by value).
        self.accepts_ref = accepts_ref
        #: ``check`` if the executor has its own (None: it accepts every task).
        self.check = check
        #: ``output`` if the executor has its own (None: a cancelled attempt keeps nothing).
        self.output = output
        #: ``output_so_far`` if the executor has its own (None: no live output).
        self.so_far = so_far

    def __repr__(self) -> str:
        return f"Declared({self.name!r}, {self.executor!r})"

    @classmethod
    def of(cls, name: str, executor: Any) -> Declared:
        """``executor``'s capabilities, the defaults of ``Executor`` where it has none."""
        def own(member: str) -> Callable[..., Any] | None:
            found = getattr(executor, member, None)
            default = getattr(Executor, member)
            return None if getattr(found, "__func__", found) is default else found

        return cls(name, executor, in_process=bool(getattr(executor, "in_process", False)),
                   done_on_worker=bool(getattr(executor, "done_on_worker", False)),
                   slots=getattr(executor, "slots", None) or None,
                   supports_children=bool(getattr(executor, "supports_children", False)),
                   accepts_ref=own("accepts_ref"), check=own("check"), output=own("output"),
                   so_far=own("output_so_far"))
