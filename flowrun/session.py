"""One invocation: configure -> collect -> select -> run -> unconfigure -> exit code."""
from __future__ import annotations

import json
import os
import time
from typing import Any

from flowrun import flow_order, graph
from flowrun.engine.loop import Engine
from flowrun.errors import CollectError, ExitCode, UsageError
from flowrun.executors import capture
from flowrun.model import INTERRUPTED, OK_STATUSES, Flow, Run, RunRequest, split_node_id

#: Folders never searched for flows (nor watched): tools', caches, environments.
SKIP_DIRS = frozenset({"__pycache__", "node_modules", "venv", "site-packages", "build",
                       "dist"})


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

    # -- collection -------------------------------------------------------------------

    def collect(self, args: list[str]) -> None:
        """Find flow files under ``args`` (or the configured flowpaths) and select."""
        paths, node_ids = self._parse_args(args)
        for path in find_files(paths):
            self._collect_file(path)
        self.errors.extend(flow_order.resolve_after(self.flows, self.config.rootdir))
        overrides = self.config.task_overrides
        for flow in self.flows:
            for task in flow.tasks.values():
                task.options = task.options.merged(overrides)
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

    def _collect_file(self, path: str) -> None:
        try:
            flows = self.hook.flowrun_collect_file(path=path, config=self.config) or []
            for flow in flows:
                graph.resolve(flow, self.config.limits)
        except CollectError as exc:
            self.errors.append(exc)
            return
        self.flows.extend(flows)

    # -- running ----------------------------------------------------------------------

    def run(self) -> ExitCode:
        """Run the selected flows; the exit code pytest would give."""
        if not self.flows:
            return ExitCode.TASKS_FAILED if self.errors else ExitCode.NO_FLOWS_COLLECTED
        params = self._flow_params()
        self.storage = self._make_storage()
        requests = self.requests(params)
        if not requests:  # e.g. --due with nothing due: start no workers
            return self.exit_code()
        self.hook.flowrun_runs_planned(session=self, requests=requests)
        executors: dict[str, Any] = {}
        engine = None
        try:  # executors start workers and connections: always shut them down
            self._make_executors(executors)
            engine = Engine(
                hook=self.hook, storage=self.storage, executor_for=executors.__getitem__,
                default_executor=self.config.executor, workers=self._workers(executors),
                limits=self.config.limits,
                fail_fast=bool(self.config.getoption("exitfirst")),
                use_call_hook=len(self.hook.flowrun_task_call.get_hookimpls()) > 1,
                load_flow=self.load_subflow, max_result_size=self.config.max_result_size)
            self.runs = self._run_engine(engine, requests)
        finally:
            for executor in executors.values():
                executor.shutdown(wait=not (engine and engine.stopping.interrupts))
        return self.exit_code()

    def _run_engine(self, engine: Engine, requests: list[RunRequest]) -> list[Run]:
        capture.install()
        restore_level = _apply_log_level()
        try:
            return engine.run(requests)
        finally:
            restore_level()
            capture.uninstall()

    def requests(self, params: dict[str, dict[str, Any]]) -> list[RunRequest]:
        """The runs to make: one per selected flow, unless a plugin's
        ``flowrun_make_requests`` (schedules, resume, backfill) says otherwise."""
        requests = self.hook.flowrun_make_requests(session=self, params=params)
        if requests is not None:
            return requests
        return [RunRequest(flow, params[flow.id]) for flow in self.flows]

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
        graph.resolve(flow, self.config.limits)
        for task in flow.tasks.values():
            task.options = task.options.merged(self.config.task_overrides)
        return flow

    def _flow_params(self) -> dict[str, dict[str, Any]]:
        given = dict(_split_param(p) for p in self.config.getoption("param", ()) or ())
        known = {name for flow in self.flows for name in flow.params}
        unknown = sorted(set(given) - known)
        if unknown:
            takes = ", ".join(sorted(known)) or "none"
            raise UsageError(f"unknown flow parameter '{unknown[0]}' (the selected flows "
                             f"take: {takes})")
        return {flow.id: {name: _convert(given[name], default, name) if name in given
                          else default for name, default in flow.params.items()}
                for flow in self.flows}

    def _workers(self, executors: dict[str, Any]) -> int:
        """``-n`` if given; else the default, raised to what an executor says it can
        run at once (``slots``: a Dask cluster's threads)."""
        if self.config.getoption("workers") is not None:
            return self.config.workers
        return max([self.config.workers,
                    *(getattr(e, "slots", 0) or 0 for e in executors.values())])

    def _make_executors(self, executors: dict[str, Any]) -> None:
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
                raise UsageError(f"unknown executor '{name}' (available: {', '.join(known)})")
            executors[name] = executor

    def _make_storage(self) -> Any:
        return open_storage(self.config)

    def close(self) -> None:
        if self.storage is not None:
            self.storage.close()
            self.storage = None


def open_storage(config: Any) -> Any:
    """The store the config names, made by whichever plugin knows its URL."""
    url = config.store_url
    storage = config.hook.flowrun_make_storage(url=url, config=config)
    if storage is None:
        raise UsageError(f"no store plugin handles '{url}' (try sqlite:///PATH or memory:)")
    return storage


def _apply_log_level() -> Any:
    """``FLOWRUN_LOG_LEVEL=DEBUG`` (or the simpleflow seed's ``LOG_LEVEL``) sets the root
    logger's level, which decides which records tasks' captured logs keep. Returns
    what puts the old level back."""
    import logging

    root = logging.getLogger()
    previous = root.level
    level = os.environ.get("FLOWRUN_LOG_LEVEL") or os.environ.get("LOG_LEVEL")
    if level:
        try:
            root.setLevel(level.upper())
        except ValueError:
            raise UsageError(f"unknown log level {level!r} (DEBUG, INFO, WARNING, "
                             "ERROR, CRITICAL)") from None
    return lambda: root.setLevel(previous)


def find_files(paths: list[str]) -> list[str]:
    """Every file under ``paths`` (files as given), skipping tools' and environments'
    folders, in a stable order."""
    files: list[str] = []
    for path in paths:
        if os.path.isfile(path):
            files.append(path)
            continue
        for root, dirs, names in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not skip_dir(root, d))
            files.extend(os.path.join(root, n) for n in sorted(names))
    return list(dict.fromkeys(files))


def skip_dir(root: str, name: str) -> bool:
    """Folders never searched for flows nor watched: hidden, caches, environments."""
    return (name.startswith(".") or name in SKIP_DIRS
            or os.path.exists(os.path.join(root, name, "pyvenv.cfg")))


def _split_param(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise UsageError(f"--param takes NAME=VALUE, not {text!r}")
    return name.strip(), value


def _convert(text: str, default: Any, name: str) -> Any:
    """Turn ``--param`` text into the type of the parameter's default."""
    kind = type(default)
    try:
        if kind is bool:
            lowered = text.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if kind in (int, float):
            return kind(text)
        if kind in (list, dict, tuple):
            value = json.loads(text)
            if not isinstance(value, (list if kind is tuple else kind)):
                raise ValueError(text)
            return kind(value)
    except ValueError:
        raise UsageError(f"--param {name}={text!r}: expected {_KIND_WORDS[kind]}, like "
                         f"the default {default!r}") from None
    return text


_KIND_WORDS = {int: "an int (a whole number)", float: "a float (a number)",
               bool: "a bool (true/false, yes/no, on/off or 1/0)",
               list: "a list written as JSON, e.g. '[1, 2]'",
               tuple: "a list written as JSON, e.g. '[1, 2]'",
               dict: "a dict written as JSON, e.g. '{\"a\": 1}'"}
