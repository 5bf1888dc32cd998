"""[plugin] One watch-mode cycle, inside the fresh ``flowrun`` process the watcher
hands it to: collect only the flow files the change affects, rerun only the changed
tasks of a flow when nothing but task bodies changed, and tell the watcher what ran.
"""
from __future__ import annotations

import json
import os
from typing import Any

from flowrun.plugin import COMPACT_REPORT, REQUEST_MODE, RunRequest, hookimpl
from flowrun.reuse import reusable_results
from flowrun.plugin.source import module_fingerprint


class WatchCycle:
    """``files``: the flow files to collect (None: all). ``previous``: flow id ->
    ``{"run": id, "module": fingerprint}`` for flows whose own file is the only change
    since that run. ``report_path``: where the cycle's runs are written, as JSON."""

    def __init__(self, files: list[str] | None, previous: dict[str, dict[str, str]],
                 report_path: str) -> None:
        self.files = None if files is None else {os.path.abspath(f) for f in files}
        self.previous = previous
        self.report_path = report_path
        self.collecting = True
        self.flows: dict[str, dict[str, Any]] = {}

    @hookimpl(tryfirst=True)
    def flowrun_configure(self, config: Any) -> None:
        config.stash[COMPACT_REPORT] = True  # reporters: one cycle of a watch

    @hookimpl(tryfirst=True)
    def flowrun_collect_file(self, path: str, config: Any) -> list | None:
        if self.collecting and self.files is not None and \
                os.path.abspath(path) not in self.files:
            return []  # unaffected: not even imported
        return None

    @hookimpl
    def flowrun_collection_finish(self, session: Any) -> None:
        self.collecting = False  # run_flow() may still load any flow file
        for flow in session.flows:
            names = {t.fn.__name__ for t in flow.tasks.values()
                     if getattr(t.fn, "__module__", None) == getattr(flow.module, "__name__", "")}
            self.flows[flow.id] = {"path": flow.path,
                                   "module": module_fingerprint(flow.path, names),
                                   **declared_files(flow)}

    @hookimpl
    def flowrun_make_requests(self, session: Any, params: dict[str, dict[str, Any]]
                              ) -> list[RunRequest] | None:
        if not self.previous or REQUEST_MODE in session.config.stash:  # its own runs
            return None
        return [self._request(session, flow, params[flow.id]) for flow in session.flows]

    def _request(self, session: Any, flow: Any, params: dict[str, Any]) -> RunRequest:
        before = self.previous.get(flow.id)
        if before and before.get("data"):
            return self._data_request(session, flow, params, before)
        if not before or before["module"] != self.flows[flow.id]["module"]:
            return RunRequest(flow, params)
        try:
            run = session.storage.get_run(before["run"])
        except Exception:  # noqa: BLE001 - the store was reset meanwhile: run it all
            return RunRequest(flow, params)
        reuse, changed = reusable_results(session.storage, flow, run, params)
        if not changed:  # saved without a code change: the user wants it run again
            return RunRequest(flow, params)
        reuse = _upstream_reused(flow, reuse)
        if reuse:
            session.notes.append(
                f"{flow.id}: only task code changed ({', '.join(changed) or 'none'}): "
                f"{len(reuse)} of {len(flow.tasks)} tasks reuse results of run {run.id}")
        return RunRequest(flow, params, reuse=reuse)

    def _data_request(self, session: Any, flow: Any, params: dict[str, Any],
                      before: dict[str, Any]) -> RunRequest:
        """Data files changed: the tasks that read them run, and what follows them; the
        rest reuse the previous run's results (a cached task decides for itself)."""
        try:
            run = session.storage.get_run(before["run"])
        except Exception:  # noqa: BLE001 - the store was reset meanwhile: run it all
            return RunRequest(flow, params)
        reuse, _ = reusable_results(session.storage, flow, run, params)
        readers = {name for name, task in flow.tasks.items()
                   if reads_any(task.options.reads, before["data"])}
        reuse = _upstream_reused(flow, {n: r for n, r in reuse.items() if n not in readers})
        session.notes.append(f"{flow.id}: data changed ({', '.join(before['data'])}): "
                             f"{len(readers)} task{'s' * (len(readers) != 1)} read it; "
                             f"{len(reuse)} reuse results of run {run.id}")
        return RunRequest(flow, params, reuse=reuse)

    @hookimpl
    def flowrun_run_finish(self, run: Any) -> None:
        entry = self.flows.setdefault(run.flow_id, {})
        entry.update(run=run.id, status=run.status)

    @hookimpl
    def flowrun_session_finish(self, session: Any, exit_code: int) -> None:
        report = {"flows": self.flows, "exit_code": exit_code,
                  "errors": [getattr(e, "where", None) for e in session.errors]}
        temporary = self.report_path + ".tmp"
        with open(temporary, "w") as fh:
            json.dump(report, fh)
        os.replace(temporary, self.report_path)


def declared_files(flow: Any) -> dict[str, list[str]]:
    """The flow's declared reads and writes as path shapes (templates as ``*``), which
    the watcher matches changed files against."""
    from flowrun.graph import _shape

    tasks = flow.tasks.values()
    return {"reads": sorted({_shape(p) for t in tasks for p in t.options.reads}),
            "writes": sorted({_shape(p) for t in tasks for p in t.options.writes})}


def reads_any(shapes: Any, paths: list[str]) -> bool:
    """Does a declared path (or shape) stand for one of ``paths`` (rootdir-relative)?"""
    from flowrun.graph import _overlap, _shape

    return any(_overlap(_shape(s), p) for s in shapes for p in paths)


def _upstream_reused(flow: Any, reuse: dict[str, Any]) -> dict[str, Any]:
    """Only what the engine will reuse: a task whose upstream is all reused too."""
    kept = dict(reuse)
    while True:
        dropped = [name for name in kept
                   if any(up not in kept for up in flow.tasks[name].upstream)]
        if not dropped:
            return kept
        for name in dropped:
            del kept[name]
