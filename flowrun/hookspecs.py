"""The plugin contract: every hook flowrun calls, grouped by the phase of a run.

Built-in executors, stores and reporters implement these hooks exactly as a third-party
package does (entry-point group ``flowrun``, ``-p NAME`` or a ``flowconf.py``). pluggy
asks the newest registration first, so a plugin registered later can override a
built-in just by answering a ``firstresult`` hook before it.

Threads. The start-up, collection and session hooks (``flowrun_addoption`` to
``flowrun_make_storage``, ``flowrun_session_start``, ``flowrun_runs_planned``,
``flowrun_session_finish``, ``flowrun_unconfigure``) are called on the main thread.
The run events (``flowrun_run_start``, ``flowrun_task_start``, ``flowrun_task_finish``,
``flowrun_run_finish``, ``flowrun_interrupted``) and ``flowrun_check_flow`` for a
subflow are called by the engine while it holds its lock, which makes them
**serialized**: no two of them ever run at once, and each sees the run as the one
before it left it. They may run on **any thread**: the main thread, or the worker
thread that just finished an attempt (the thread executor settles a finished attempt
and starts its successors right there, which is what keeps chains fast). So a reporter
needs no lock of its own for state only these hooks touch, must not rely on
thread-locals, and must not block: the whole run waits while it runs (hand slow work,
network calls, to a thread of its own). ``flowrun_task_call`` runs in the thread that
runs the attempt, concurrently with other attempts and with the events above.

Reports are snapshots. The ``task`` of ``flowrun_task_start``/``flowrun_task_finish``
and the ``running`` of ``flowrun_interrupted`` are read-only copies of the engine's
report as it was at the call (setting an attribute raises ``AttributeError``): keep
them as they are, they never change afterwards. A ``Run`` is the engine's own object:
it is final from ``flowrun_run_finish`` on (its ``status``, ``finished``, ``counts``);
read it, never change it.

Hooks are called with keyword arguments; an implementation may accept any subset of
them.

In ``flowconf.py`` and ``-p`` / ``plugins`` modules, a plain ``def flowrun_<hook>`` is a
hook too (as in a pytest ``conftest.py``); a ``flowrun_*`` name that is no hook, wrong
arguments, a hook raising, or a result of the wrong kind is one line naming the plugin
and the hook (``flowrun.plugins``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import pluggy

if TYPE_CHECKING:  # only for the annotations below
    from flowrun.config import Config, OptionParser
    from flowrun.errors import CollectError
    from flowrun.model import Flow, Report, Run, RunRequest
    from flowrun.plugin.attempt import Call
    from flowrun.plugin.executor import Executor
    from flowrun.plugin.storage import Storage

PROJECT = "flowrun"


class Session(Protocol):
    """What the ``session`` argument of the ``flowrun_session_*`` and collection hooks
    offers a plugin (``flowrun.session.Session`` is the one flowrun passes). Described
    here so a plugin, and this module, need not import the session."""

    config: Config
    flows: list[Flow]            # the selected flows, once collected
    errors: list[CollectError]   # collection errors, one per file that failed
    runs: list[Run]              # the runs this session started, once run
    deselected: int              # tasks left out by -k / -m / node ids
    started: float               # when the session started (epoch seconds)
    storage: Storage | None      # the store, once opened
    notes: list[str]             # lines plugins want the user told at the end

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
    ``table``, ``duration`` (seconds or ``"15m"``) (``flowrun.config_keys``); an array of
    tables (``[[tool.flowrun.notify]]``) is checked table by table. Without ``keys`` the
    plugin checks the table itself. A key nobody declares is a usage error.
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
def flowrun_check_flow(flow: Flow, config: Config) -> None:
    """Check the options of ``flow`` this plugin owns (the scheduling plugin: schedule,
    timezone, catch-up, overlap, partitions); raise ``CollectError`` naming the file,
    the option and the value. Called for every collected flow (subflows included) once
    its tasks are resolved and its graph has no cycle; the flow then counts as a file
    that failed to collect.
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
    """An attempt of ``task`` starts (``task.attempt`` counts from 1).

    Serialized with the other run events, on any thread; ``task`` is a read-only
    snapshot (see "Threads" and "Reports are snapshots" above).
    """


@hookspec
def flowrun_task_finish(task: Report) -> None:
    """A task reached a final status, or an attempt failed and ``task.will_retry``.

    Also called for tasks that never started (cancelled, skipped by ``run_if``, cached).
    Serialized with the other run events, on any thread; ``task`` is a read-only
    snapshot, so a reporter may keep every attempt's ``task`` as it came.
    """


@hookspec
def flowrun_run_finish(run: Run) -> None:
    """A flow's run is over; ``run.status`` is final and stored."""


@hookspec
def flowrun_session_finish(session: Session, exit_code: int) -> None:
    """The invocation is over; reporters print their summary here."""


# -- alerts ------------------------------------------------------------------------------

@hookspec
def flowrun_notify(event: str, payload: dict[str, Any], config: Config) -> None:
    """Something worth telling people happened: ``event`` is ``failed``,
    ``interrupted``, ``recovered``, ``succeeded``, ``missed`` or ``long_running`` (and
    ``test`` for ``flowrun notify test``); ``payload`` is the notification document
    (``flowrun schema notification``). Called once per event, whatever channels are
    configured, on the main thread once the run's state is stored, at the end of the
    invocation (``long_running``: on a timer thread while the run goes on). A plugin's own channel (a pager, a chat) goes here; raising is reported
    in one line and changes no run's status or exit code.
    """
