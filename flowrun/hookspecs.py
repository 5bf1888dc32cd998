"""The plugin contract: every hook flowrun calls, grouped by the phase of a run.

Built-in executors, stores and reporters implement these hooks exactly as a third-party
package does (entry-point group ``flowrun``, ``-p NAME`` or a ``flowconf.py``). pluggy
asks the newest registration first, so a plugin registered later can override a
built-in just by answering a ``firstresult`` hook before it.

Threads: every hook is called on the main (scheduler) thread unless its docstring says
otherwise. Hooks are called with keyword arguments; an implementation may accept any
subset of them.

In ``flowconf.py`` and ``-p`` / ``plugins`` modules, a plain ``def flowrun_<hook>`` is a
hook too (as in a pytest ``conftest.py``); a ``flowrun_*`` name that is no hook, wrong
arguments, a hook raising, or a result of the wrong kind is one line naming the plugin
and the hook (``flowrun.plugins``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # only for the annotations below
    from flowrun.config import Config, OptionParser
    from flowrun.executors.attempt import Call
    from flowrun.executors.interface import Executor
    from flowrun.model import Flow, Report, Run, RunRequest
    from flowrun.session import Session
    from flowrun.storage.interface import Storage

PROJECT = "flowrun"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# -- start-up --------------------------------------------------------------------------

@hookspec(historic=True)
def flowrun_addoption(parser: OptionParser) -> None:
    """Add command-line options with ``parser.addoption("--name", ...)`` (click options).

    Called once, before the command line is parsed; option values are then read with
    ``config.getoption("name")``. Options also become settable in ``[tool.flowrun]``.
    A plugin reading a config key or table of its own (``[tool.flowrun.dask]``) declares
    it with ``parser.addini("dask", "what it holds", keys={"n_workers": {"kind": "int",
    "minimum": 1}, "address": "name"})``: flowrun then checks that table at the start of
    every command, whatever executor the run uses, as it checks its own keys (an unknown
    key with a "did you mean", a value of the wrong kind; exit 4). Kinds: ``int``,
    ``number``, ``seconds``, ``bool``, ``name``, ``text``, ``strings``, ``list``,
    ``table`` (``flowrun.config_keys``). Without ``keys`` the plugin checks the table
    itself. A key nobody declares is a usage error.
    """


@hookspec
def flowrun_configure(config: Config) -> None:
    """Set up after the command line and config file are read, before collection.

    Optional plugins (reporters behind an option) register themselves here with
    ``config.pluginmanager.register(...)`` only when needed, so they cost nothing when off.
    """


@hookspec
def flowrun_unconfigure(config: Config) -> None:
    """Tear down: called once at the end, after the last run finished, even on errors."""


@hookspec
def flowrun_commands() -> dict[str, tuple[str, Any]]:
    """Return ``{name: (summary, factory)}``: subcommands this plugin adds
    (``flowrun NAME ...``), listed under "Other commands" in ``flowrun --help``.

    Called before the command line is parsed, so it must be cheap. ``factory`` is a
    callable, or a ``"module:attr"`` string imported only when that command runs; it
    receives the command context (``context.make(options)`` returns the ``Config`` for
    the command's parsed options; ``context.rootdir``, ``context.argv``) and returns a
    ``click.Command``. The newest registration wins a name, so a plugin can replace a
    built-in command.
    """


@hookspec
def flowrun_executors(config: Config) -> list[str]:
    """Return the executor names this plugin can make (for listings and error messages)."""


# -- collection ------------------------------------------------------------------------

@hookspec(firstresult=True)
def flowrun_collect_file(path: str, config: Config) -> list[Flow] | None:
    """Return the flows defined in ``path``, or None if this plugin does not read it.

    The first non-None answer wins. Raise ``flowrun.errors.CollectError`` for a file
    that is meant to be a flow but is broken: it is reported like a failed pytest
    collection, and other files still run. ``path`` is absolute.
    """


@hookspec
def flowrun_collection_modifyitems(config: Config, flows: list[Flow]) -> None:
    """Filter or reorder ``flows`` in place, after selection (-k, -m, node ids)."""


@hookspec
def flowrun_collection_finish(session: Session) -> None:
    """Collection and selection are done: ``session.flows`` will run, ``session.errors``
    holds the files that failed to collect."""


@hookspec
def flowrun_task_types() -> dict[str, Any]:
    """Return ``{name: callable}`` task types usable by spec flows (flow_*.json/yaml).

    The callable receives the task's ``task_params`` as keyword arguments.
    """


# -- the run's machinery ---------------------------------------------------------------

@hookspec(firstresult=True)
def flowrun_make_requests(session: Session, params: dict[str, dict[str, Any]]
                          ) -> list[RunRequest] | None:
    """Return the runs to make from ``session.flows``, or None for the default (one run
    per flow with ``params[flow.id]``). The first non-None answer wins.

    This is how ``--due`` (scheduled slots), ``--resume`` (reused results) and
    ``--backfill`` (partitions) turn selected flows into runs.
    """


@hookspec(firstresult=True)
def flowrun_make_executor(name: str, config: Config) -> Executor | None:
    """Return a started executor for ``name``, or None if this plugin has none.

    Called once per session for the default executor and once for each other name a
    task asks for; the session shuts it down at the end.
    """


@hookspec(firstresult=True)
def flowrun_make_storage(url: str, config: Config) -> Storage | None:
    """Return a storage backend for ``url`` (e.g. ``sqlite:///p.db``, ``memory:``), or None."""


@hookspec(firstresult=True)
def flowrun_task_call(call: Call) -> Any:
    """Run one attempt: call the task's function and return its result.

    Called in the thread that runs the attempt. Use ``@hookimpl(wrapper=True)`` to
    wrap every attempt (timing, tracing); the built-in implementation does the call.
    Only executors that run attempts in this process (thread) call it; process, SSH and
    Dask workers run the function directly.
    """


# -- events, for reporters -------------------------------------------------------------

@hookspec
def flowrun_session_start(session: Session) -> None:
    """The invocation starts (after configure, before collection)."""


@hookspec
def flowrun_runs_planned(session: Session, requests: list[RunRequest]) -> None:
    """The runs this session will make are known (after ``flowrun_make_requests``),
    before the first starts: reporters size their progress from ``requests``."""


@hookspec
def flowrun_run_start(run: Run) -> None:
    """A flow's run starts; ``run.id`` is the id the store and ``flowrun show`` use."""


@hookspec
def flowrun_interrupted(signal: str, running: list[Report], grace: float) -> None:
    """The first stop signal (``"SIGINT"``, ``"SIGTERM"``, ``"SIGHUP"``) arrived: nothing
    new starts; ``running`` attempts get ``grace`` seconds before they are stopped (a
    second signal stops them at once). Reporters say so right away."""


@hookspec
def flowrun_task_start(task: Report) -> None:
    """An attempt of ``task`` starts (``task.attempt`` counts from 1)."""


@hookspec
def flowrun_task_finish(task: Report) -> None:
    """A task reached a final status, or an attempt failed and ``task.will_retry``.

    Also called for tasks that never started (cancelled, skipped by ``run_if``, cached).
    """


@hookspec
def flowrun_run_finish(run: Run) -> None:
    """A flow's run is over; ``run.status`` is final and stored."""


@hookspec
def flowrun_session_finish(session: Session, exit_code: int) -> None:
    """The invocation is over; reporters print their summary here."""
