"""What the API's reads and state-changing routes do, without HTTP: find runs (stored
or pending), start, resume, cancel and backfill them. Problems are ``ApiError`` with
the status they answer."""
from __future__ import annotations

import json
import os
import time
from typing import Any

from flowrun.plugin import FAILED, INTERRUPTED, RUNNING, Run, StoreError, UsageError

from flowrun_ui.launcher import Pending
from flowrun_ui.views import RUN_ID, run_json, task_counts, tasks_json

NOT_OK = (FAILED, INTERRUPTED)


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.run_id: str | None = None  # a run recorded failed because of it


def check_run_id(run_id: str) -> str:
    if not RUN_ID.fullmatch(run_id):
        raise ApiError(404, f"no run {run_id!r} (run ids are letters, digits and '-')")
    return run_id


def find_run(state: Any, run_id: str) -> Any:
    """The stored run, or the pending record standing in for it; 404 if neither."""
    check_run_id(run_id)
    try:
        return state.store.get_run(run_id)
    except StoreError as exc:
        pending = state.launcher.get(run_id)
        if pending is None:
            raise ApiError(404, str(exc)) from None
        return pending


def run_detail(state: Any, run_id: str) -> dict[str, Any]:
    run = find_run(state, run_id)
    reports = [] if isinstance(run, Pending) else state.store.attempts(run.id)
    if not run.counts and reports:
        run.counts = task_counts(reports)
    return {**run_json(run), "error": getattr(run, "error", None),
            "tasks": tasks_json(reports)}


def list_runs(state: Any, flow: str | None, status: str | None, limit: int,
              before: str | None, **more: str | None) -> list[dict[str, Any]]:
    from flowrun_ui.runlist import Filters, list_runs as listed

    return listed(state, Filters(flow, status, **more), limit, before)


def start_run(state: Any, flow_id: str, params: dict[str, Any],
              partition: str | None) -> str:
    flow = get_flow(state, flow_id)
    try:
        args = [flow_id, *_param_args(flow, params)]
    except ApiError as exc:  # kept as a failed run too, as `flowrun --param` keeps it
        exc.run_id = _record_unstarted(state, flow_id, params, str(exc))
        raise
    if partition is not None:
        keys = {k for row in (flow.get("partitions") or {}).get("keys", []) for k in row}
        if not flow.get("partitions"):
            raise ApiError(400, f"{flow_id} has no partitions")
        if partition not in keys:
            raise ApiError(400, f"unknown partition {partition!r} of {flow_id}")
        args += ["--partition", partition]
    record = Pending(state.launcher.new_id(), flow_id, params=params, partition=partition)
    state.launcher.start(args, record)
    return record.id


def _record_unstarted(state: Any, flow_id: str, params: dict[str, Any], error: str) -> str:
    """Record a run that failed before its first task (a bad parameter): listed and
    shown like any run."""
    now = time.time()
    run = Run(id=state.launcher.new_id(), flow_id=flow_id, status=FAILED, started=now,
              finished=now, params=params, error=error)
    state.store.run_started(run)
    state.store.run_finished(run)
    return run.id


def resume_run(state: Any, run_id: str) -> str:
    run = find_run(state, run_id)
    if run.status not in NOT_OK:
        raise ApiError(409, f"run {run.id} is {run.status}: only a failed or interrupted "
                            "run can be resumed")
    if isinstance(run, Pending):
        raise ApiError(409, f"run {run.id} never started: start a new one")
    record = Pending(state.launcher.new_id(), run.flow_id, params=run.params,
                     partition=run.partition, resumed_from=run.id)
    state.launcher.start(["--resume", run.id], record)
    return record.id


def rerun_tasks(state: Any, run_id: str, tasks: list[str], downstream: bool) -> str:
    """``flowrun --resume RUN --force TASK...`` as a new run: those tasks (and, with
    ``downstream``, everything after them) run again, every other success is reused."""
    run = find_run(state, run_id)
    if isinstance(run, Pending) or run.status == RUNNING:
        raise ApiError(409, f"run {run.id} is {run.status}: wait for it to end (or "
                            "cancel it), then rerun its tasks")
    known = {t["id"] for t in get_flow(state, run.flow_id).get("tasks", [])}
    wanted = list(dict.fromkeys(t.split("[", 1)[0] for t in tasks))  # t[3] -> t
    unknown = [t for t in wanted if t not in known]
    if not wanted or unknown:
        raise ApiError(400, f"tasks: {', '.join(map(repr, unknown)) or 'none given'} "
                            f"- give task ids of {run.flow_id}, such as "
                            f"{sorted(known)[0] if known else run.flow_id + '::task'}")
    record = Pending(state.launcher.new_id(), run.flow_id, params=run.params,
                     partition=run.partition, resumed_from=run.id)
    args = ["--resume", run.id, *(a for t in wanted for a in ("--force", t))]
    state.launcher.start(args, record, {"FLOWRUN_FORCE_DOWNSTREAM": "1" if downstream
                                        else "0"})
    return record.id


def cancel_run(state: Any, run_id: str) -> None:
    run = find_run(state, run_id)
    if run.status != RUNNING:
        raise ApiError(409, f"run {run.id} is not running (it is {run.status})")
    if run.host and run.host != os.uname().nodename:
        raise ApiError(409, f"run {run.id} runs on {run.host}, not on this machine")
    if not run.pid:
        raise ApiError(409, f"run {run.id} recorded no process to interrupt")
    try:
        state.launcher.interrupt(run.id, run.pid)
    except ProcessLookupError:
        raise ApiError(409, f"run {run.id} is not running (its process is gone)") from None
    except PermissionError:
        raise ApiError(409, f"run {run.id} belongs to another user") from None


def get_flow(state: Any, flow_id: str) -> dict[str, Any]:
    flow = state.catalog.get(flow_id)
    if flow is None:
        raise ApiError(404, f"no flow {flow_id!r} (flow ids are paths such as "
                            "flows/flow_sales.py)")
    if flow.get("error"):
        raise ApiError(409, f"{flow_id} failed to collect: {flow['error']}")
    return flow


def grid(state: Any, flow_id: str) -> dict[str, Any]:
    flow = get_flow(state, flow_id)
    parts = flow.get("partitions")
    if not parts:
        raise ApiError(404, f"{flow_id} has no partitions (Flow(partitions=...))")
    newest = newest_partitions(state, flow_id)
    times = parts["time_keys"] or [None]
    cells = []
    for time_key, keys in zip(times, parts["keys"]):
        for key in keys:
            run = newest.get(key)
            category = key.rpartition("/")[2] if parts["categories"] else None
            cells.append({"key": key, "time_key": time_key, "category": category,
                          "status": str(run.status) if run else "missing",
                          "run_id": run.id if run else None})
    return {"flow_id": flow_id, "granularity": parts["granularity"],
            "categories": parts["categories"], "time_keys": parts["time_keys"],
            "cells": cells}


def newest_partitions(state: Any, flow_id: str) -> dict[str, Any]:
    newest: dict[str, Any] = {}
    for run in state.store.list_runs(flow=flow_id):
        if run.partition is not None:
            newest.setdefault(run.partition, run)
    return newest


def backfill(state: Any, flow_id: str, start: str, end: str, only: str | None) -> list[str]:
    flow = get_flow(state, flow_id)
    if not flow.get("partitions"):
        raise ApiError(400, f"{flow_id} has no partitions (Flow(partitions=...))")
    try:
        keys = state.catalog.backfill_keys(flow_id, start, end)
    except UsageError as exc:
        raise ApiError(400, str(exc).replace("--keys", "backfill")) from None
    newest = newest_partitions(state, flow_id)
    if only == "missing":
        keys = [k for k in keys if k not in newest]
    elif only == "failed":
        keys = [k for k in keys if k in newest and newest[k].status in NOT_OK]
    jobs = [([flow_id, "--partition", key],
             Pending(state.launcher.new_id(), flow_id, partition=key)) for key in keys]
    if jobs:
        state.launcher.start_queue(jobs)
    return [record.id for _, record in jobs]


def _param_args(flow: dict[str, Any], params: dict[str, Any]) -> list[str]:
    """``--param K=V`` for each parameter, checked against the flow's own types."""
    known = {p["name"]: p for p in flow.get("params", [])}
    args = []
    for name, value in params.items():
        if name not in known:
            takes = ", ".join(sorted(known)) or "none"
            raise ApiError(400, f"unknown parameter {name!r} of {flow['id']} (it takes: "
                                f"{takes})")
        args += ["--param", f"{name}={_as_text(name, value, known[name]['type'])}"]
    return args


def _as_text(name: str, value: Any, kind: str) -> str:
    ok = {"int": lambda v: isinstance(v, int) and not isinstance(v, bool),
          "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
          "bool": lambda v: isinstance(v, bool), "list": lambda v: isinstance(v, list),
          "dict": lambda v: isinstance(v, dict)}.get(kind)
    if ok is not None and not ok(value) and not isinstance(value, str):
        raise ApiError(400, f"parameter {name!r} takes a {kind}, not {value!r}")
    if isinstance(value, str):
        if "\x00" in value:
            raise ApiError(400, f"parameter {name!r}: NUL characters are not allowed")
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)
