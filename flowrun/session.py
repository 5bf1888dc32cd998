"""One invocation: configure -> collect -> select -> run -> unconfigure -> exit code
(``run_session``); ``Session`` is what the session hooks see of it."""
from __future__ import annotations

import errno
import os
import stat
import time
from typing import Any, Iterable

from flowrun import flow_order, graph
from flowrun.engine.loop import Engine
from flowrun.config import open_storage
from flowrun.errors import CollectError, ExitCode, UsageError
from flowrun.forcing import wire_engine
from flowrun.stash import CALL_PREPARERS
from flowrun.plugin.executor import Declared
from flowrun.plugins import raise_deferred
from flowrun.model import INTERRUPTED, OK_STATUSES, Flow, Run, RunRequest, split_node_id
from flowrun.option_checks import did_you_mean
from flowrun.params import check_known, convert, split_param

#: Folders never searched for flows (nor watched): tools', caches, environments.
SKIP_DIRS = frozenset({"__pycache__", "node_modules", "venv", "site-packages", "build",
                       "dist"})


def run_session(config: Any) -> int:
    """configure -> collect -> run -> report -> unconfigure. The paths and node ids are
    read after configure, which may change them (``--resume flows/flow_x.py``)."""
    hook = config.hook
    hook.flowrun_configure(config=config)
    session = Session(config)
    try:
        hook.flowrun_session_start(session=session)
        session.collect(list(config.options.get("args", ())))
        if config.getoption("collectonly"):
            code = ExitCode.TASKS_FAILED if session.errors else (
                ExitCode.OK if session.flows else ExitCode.NO_FLOWS_COLLECTED)
        else:
            code = session.run()
        hook.flowrun_session_finish(session=session, exit_code=int(code))
        raise_deferred(config.pluginmanager)  # an event hook that failed mid-run
        return int(code)
    finally:
        session.close()
        hook.flowrun_unconfigure(config=config)


class Session:
    """State of one invocation, as the ``flowrun_session_*`` hooks see it."""

    def __init__(self, config: Any) -> None:
        self.config = config
        self.hook = config.hook
        self.flows: list[Flow] = []
        self.errors: list[CollectError] = []
        self.runs: list[Run] = []
        self.deselected = 0
        self.started = time.time()
        self.storage: Any = None
        self.notes: list[str] = []  # what plugins want the user told (e.g. resume)
        #: Runs that fail before their first task are recorded: a run, not `explain`.
        self.records_unstarted = False

    # -- collection -------------------------------------------------------------------

    def collect(self, args: list[str]) -> None:
        """Find flow files under ``args`` (or the configured flowpaths) and select."""
        paths, node_ids = self._parse_args(args)
        for path in find_files(paths, self._patterns()):
            self._collect_file(path)
        self.errors.extend(flow_order.resolve_after(self.flows, self.config.rootdir))
        self.flows, self.deselected = graph.select(
            self.flows, node_ids, self.config.getoption("keyword"),
            self.config.getoption("markexpr"))
        self.hook.flowrun_collection_modifyitems(config=self.config, flows=self.flows)
        self.hook.flowrun_collection_finish(session=self)

    def _parse_args(self, args: list[str]) -> tuple[list[str], dict[str, set[str] | None]]:
        if not args:
            return [p for p in self.config.flowpaths if os.path.exists(p)], {}
        paths: list[str] = []
        node_ids: dict[str, set[str] | None] = {}
        for arg in args:
            path, name = split_node_id(arg)
            full = os.path.abspath(path)
            if not os.path.exists(full):
                raise UsageError(f"file or directory not found: {arg}")
            if name is not None and not os.path.isfile(full):
                raise UsageError(f"{arg}: a task id names a flow file before '::' "
                                 f"({path} is not a file)")
            if name == "":
                raise UsageError(f"{arg}: no task name after '::'")
            paths.append(full)
            if os.path.isfile(full):
                flow_id = os.path.relpath(full, self.config.rootdir).replace(os.sep, "/")
                names = node_ids.setdefault(flow_id, set())
                if names is not None:
                    if name is None:
                        node_ids[flow_id] = None
                    else:
                        names.add(name)
        return list(dict.fromkeys(paths)), {k: v for k, v in node_ids.items() if v}

    def _patterns(self) -> list[str]:
        return [*self.config.python_files, *self.config.spec_files]

    def _collect_file(self, path: str) -> None:
        try:
            if not _is_text(os.path.relpath(path, self.config.rootdir)):
                self._not_text(path)
                return
            if not os.path.isfile(path) or not _is_regular(path):
                self._not_regular(path)
                return
            flows = self.hook.flowrun_collect_file(path=path, config=self.config) or []
            for flow in flows:
                self._resolve(flow)
        except CollectError as exc:
            self.errors.append(exc)
            return
        self.flows.extend(flows)

    def _not_regular(self, path: str) -> None:
        """A path that is no regular file: an error if it is named like a flow file
        (reading a FIFO or a device would hang), else nothing to collect."""
        import fnmatch

        if any(fnmatch.fnmatch(os.path.basename(path), p) for p in self._patterns()):
            flow_id = os.path.relpath(path, self.config.rootdir).replace(os.sep, "/")
            raise CollectError(f"{flow_id}: not a regular file ({_kind(path)}); flow "
                               "files must be regular files", where=flow_id)

    def _not_text(self, path: str) -> None:
        """A path whose name is not valid UTF-8 cannot be a flow id (nor stored): an
        error if it is named like a flow file, else nothing to collect."""
        import fnmatch

        if any(fnmatch.fnmatch(os.path.basename(path), p) for p in self._patterns()):
            shown = os.fsencode(os.path.relpath(path, self.config.rootdir)).decode(
                "utf-8", "backslashreplace")
            raise CollectError(f"{shown}: the path is not valid UTF-8; rename it (flow ids "
                               "are text)", where=shown)

    # -- running ----------------------------------------------------------------------

    def run(self) -> ExitCode:
        """Run the selected flows; the exit code pytest would give."""
        if not self.flows and not (self.errors and self.config.getoption("resume")):
            return ExitCode.TASKS_FAILED if self.errors else ExitCode.NO_FLOWS_COLLECTED
        self.storage = self._make_storage()  # first: a run that cannot start is kept
        self.records_unstarted = True
        params = self._flow_params() if self.flows else {}
        requests = self.requests(params)
        if not requests:  # e.g. --due with nothing due: start no workers
            return self.exit_code()
        self.hook.flowrun_runs_planned(session=self, requests=requests)
        executors: dict[str, Declared] = {}
        engine = None
        try:  # executors start workers and connections: always shut them down
            self._make_executors(executors)
            engine = Engine(
                hook=self.hook, storage=self.storage, executor_for=executors.__getitem__,
                default_executor=self.config.executor, workers=self._workers(executors),
                limits=self.config.limits,
                fail_fast=bool(self.config.getoption("exitfirst")),
                use_call_hook=len(self.hook.flowrun_task_call.get_hookimpls()) > 1,
                load_flow=self.load_subflow, max_result_size=self.config.max_result_size,
                prepare_call=self.config.stash.get(CALL_PREPARERS, None))
            engine.stopping.grace = self.config.interrupt_grace
            wire_engine(engine, self.config, self.flows)  # --force, cached tasks
            self.runs = engine.run(requests)  # its output captured by flowrun.capturing
        finally:
            for declared in executors.values():
                declared.executor.shutdown(wait=not (engine and engine.stopping.interrupts))
        return self.exit_code()

    def requests(self, params: dict[str, dict[str, Any]]) -> list[RunRequest]:
        """The runs to make: one per selected flow, unless a plugin's
        ``flowrun_make_requests`` (schedules, resume, backfill) says otherwise."""
        requests = self.hook.flowrun_make_requests(session=self, params=params)
        if requests is None:
            requests = [RunRequest(flow, params[flow.id]) for flow in self.flows]
        for request, run_id in zip(requests, chosen_run_ids()):
            request.run_id = run_id
        return requests

    def exit_code(self) -> ExitCode:
        if any(run.status == INTERRUPTED for run in self.runs):
            return ExitCode.INTERRUPTED
        if self.errors or any(run.status not in OK_STATUSES for run in self.runs):
            return ExitCode.TASKS_FAILED
        return ExitCode.OK

    def load_subflow(self, target: str, caller_flow_id: str) -> Flow:
        """The flow ``run_flow(target)`` names: a path relative to the rootdir or to the
        calling flow's folder. Raises ``CollectError`` for anything else."""
        caller_dir = os.path.dirname(os.path.join(self.config.rootdir, caller_flow_id))
        candidates = [target] if os.path.isabs(target) else [
            os.path.join(self.config.rootdir, target), os.path.join(caller_dir, target)]
        path = next((os.path.abspath(c) for c in candidates if os.path.isfile(c)), None)
        if path is None:
            raise CollectError(f"run_flow: no flow file {target!r} (looked in "
                               f"{' and '.join(dict.fromkeys(candidates))})")
        flows = self.hook.flowrun_collect_file(path=path, config=self.config)
        if not flows:
            raise CollectError(f"run_flow: {target!r} is not a flow file")
        flow = flows[0]
        self._resolve(flow)
        return flow

    def _resolve(self, flow: Flow) -> None:
        """The config's and command line's task options applied, then every option
        checked with them (so a combination that overflows is caught too)."""
        overrides = self.config.task_overrides
        for task in flow.tasks.values():
            task.options = task.options.merged(overrides)
        graph.resolve(flow, self.config.limits)
        self.hook.flowrun_check_flow(flow=flow, config=self.config)

    def _flow_params(self) -> dict[str, dict[str, Any]]:
        """Each selected flow's parameters, ``--param`` values converted to the types of
        their defaults. A bad one is a usage error, and each run it stops is recorded
        ``failed`` with that error."""
        texts = self.config.getoption("param", ()) or ()
        try:
            given = dict(split_param(p) for p in texts)
            check_known(given, self.flows)
        except UsageError as exc:
            self._unstarted([(flow, exc) for flow in self.flows],
                            dict(p.partition("=")[::2] for p in texts))
            raise
        params, failures = {}, []
        for flow in self.flows:
            try:
                params[flow.id] = {name: convert(given[name], default, name)
                                   if name in given else default
                                   for name, default in flow.params.items()}
            except UsageError as exc:
                failures.append((flow, exc))
        if failures:
            self._unstarted(failures, given)
            raise failures[0][1]
        return params

    def _unstarted(self, failures: list[tuple[Flow, UsageError]], given: dict[str, str]
                   ) -> None:
        """Record the runs ``failures`` stopped before their first task."""
        from flowrun.unstarted import record_unstarted

        if not self.records_unstarted:
            return
        run_ids = iter(chosen_run_ids())
        for flow, exc in failures:
            record_unstarted(self.storage, [flow.id], str(exc), given, run_ids)

    def _workers(self, executors: dict[str, Declared]) -> int:
        """``-n`` if given; else the default, raised to what an executor says it can
        run at once (``slots``: a Dask cluster's threads)."""
        if self.config.getoption("workers") is not None:
            return self.config.workers
        return max([self.config.workers, *(e.slots or 0 for e in executors.values())])

    def _make_executors(self, executors: dict[str, Declared]) -> None:
        """Make every executor the selected tasks name, into ``executors`` as they
        come, so the caller can shut down those made before a failure."""
        names = {self.config.executor} | {
            t.options.executor for f in self.flows for t in f.selected_tasks
            if t.options.executor}
        for name in sorted(names):
            executor = self.hook.flowrun_make_executor(name=name, config=self.config)
            if executor is None:
                known = sorted({n for listed in self.hook.flowrun_executors(config=self.config)
                                for n in listed})
                users = [t.id for f in self.flows for t in f.selected_tasks
                         if t.options.executor == name]
                named = f" (named by {users[0]})" if users else ""
                hint = did_you_mean(name, known)
                raise UsageError(f"unknown executor '{name}'{named}{hint} (available: "
                                 f"{', '.join(known)})")
            executors[name] = Declared.of(name, executor)
        if self.config.getoption("usepdb"):
            elsewhere = sorted(n for n, e in executors.items() if not e.in_process)
            if elsewhere:
                raise UsageError(f"--pdb cannot debug tasks on the {elsewhere[0]} executor: "
                                 "they run in other processes; use --executor thread")
        for name, declared in executors.items():  # bad settings: one line, before any task
            if declared.check is not None:
                declared.check([t for f in self.flows for t in f.selected_tasks
                                if (t.options.executor or self.config.executor) == name])

    def _make_storage(self) -> Any:
        return open_storage(self.config)

    def close(self) -> None:
        if self.storage is not None:
            self.storage.close()
            self.storage = None


def chosen_run_ids() -> list[str]:
    """``FLOWRUN_RUN_ID=ID[,ID...]``: ids for this session's runs, in request order, so
    whoever starts ``flowrun`` (``flowrun ui``) knows them before the runs exist. Taken
    out of the environment, so a ``flowrun`` started by a task never reuses them."""
    value = os.environ.pop("FLOWRUN_RUN_ID", "")
    ids = [part.strip() for part in value.split(",") if part.strip()]
    for run_id in ids:
        if not (run_id.isascii() and run_id.replace("-", "").isalnum() and len(run_id) <= 64):
            raise UsageError(f"FLOWRUN_RUN_ID: {run_id!r} is not a run id (letters, "
                             "digits and '-', at most 64)")
    return ids


def find_files(paths: list[str], patterns: Iterable[str] = ()) -> list[str]:
    """Every file under ``paths`` (files as given), skipping tools' and environments'
    folders, in a stable order. A folder named like a flow file (``patterns``) is
    listed, not searched, so collection reports it."""
    import fnmatch

    files: list[str] = []
    patterns = list(patterns)
    for path in paths:
        if not os.path.isdir(path) or any(
                fnmatch.fnmatch(os.path.basename(path), p) for p in patterns):
            files.append(path)
            continue
        for root, dirs, names in os.walk(path):
            named = [d for d in dirs if any(fnmatch.fnmatch(d, p) for p in patterns)]
            dirs[:] = sorted(d for d in dirs if not skip_dir(root, d) and d not in named)
            files.extend(os.path.join(root, n) for n in sorted([*names, *named]))
    return list(dict.fromkeys(files))


def _is_text(path: str) -> bool:
    """Whether ``path`` decodes as UTF-8 (``os`` gives undecodable bytes as surrogates)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_regular(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _kind(path: str) -> str:
    """What a path that is no regular file is, in words."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        return "a symlink loop" if exc.errno == errno.ELOOP else (
            "a broken symlink" if os.path.islink(path) else exc.strerror or "unreadable")
    for test, word in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return word
    return "not a regular file"


def skip_dir(root: str, name: str) -> bool:
    """Folders never searched for flows nor watched: hidden, caches, environments."""
    return (name.startswith(".") or name in SKIP_DIRS
            or os.path.exists(os.path.join(root, name, "pyvenv.cfg")))
