"""[plugin] ``flowrun --resume [RUN]``: continue the latest unfinished run of each
selected flow (or RUN) as a new, linked run. Tasks that succeeded (or were reused)
there keep their stored results; failed, cancelled and never-finished tasks run again,
and so does every task whose code changed since, and everything downstream of them.

"Unfinished" is a run that failed, was interrupted, or is still marked running because
its process died (``kill -9``, a reboot).
"""
from __future__ import annotations

import os
from typing import Any

from flowrun.plugin import (RUNNING, SUCCEEDED, FlowrunError, Run, RunRequest, SlotStore, UsageError,
                            claim_request_mode, hookimpl)
from flowrun.forcing import forced_names
from flowrun.reuse import resume_plan
from flowrun.unstarted import record_unstarted

LAST = "last"


@hookimpl
def flowrun_addoption(parser: Any) -> None:
    parser.addoption("--resume", "resume", is_flag=False, flag_value=LAST, default=None,
                     metavar="[RUN]", help="Rerun the last failed run (or RUN), reusing "
                     "what succeeded.")


@hookimpl(tryfirst=True)  # before anything reads the selection
def flowrun_configure(config: Any) -> None:
    wanted = config.getoption("resume")
    if not wanted:
        return
    claim_request_mode(config, "--resume")
    if wanted != LAST and looks_like_a_path(wanted):  # `--resume flows/flow_x.py`
        config.options["resume"] = LAST
        config.options["args"] = (wanted, *config.options.get("args", ()))


def looks_like_a_path(value: str) -> bool:
    """A run id is a hex prefix; a path or node id has a separator, a dot, or exists.

    pytest's optional-value options work this way too: the word after ``--resume`` is
    its value only when it cannot be a path (``--resume=RUN`` is always a run id).
    """
    if "/" in value or "::" in value or "." in value or os.path.exists(value):
        return True
    return not all(c in "0123456789abcdef" for c in value.lower())


@hookimpl
def flowrun_make_requests(session: Any, params: dict[str, dict[str, Any]]
                          ) -> list[RunRequest] | None:
    wanted = session.config.getoption("resume")
    if not wanted:
        return None
    storage = session.storage
    by_flow = {flow.id: flow for flow in session.flows}
    _record_unloadable(session, wanted)
    if wanted != LAST:
        run = storage.get_run(wanted)
        if run.flow_id not in by_flow:
            raise UsageError(f"run {run.id} is of {run.flow_id}, which is not selected")
        previous = {run.flow_id: run}
    else:
        previous = {fid: _last_unfinished(storage, fid) for fid in by_flow}
    requests = []
    for flow in session.flows:
        run = previous.get(flow.id)
        if run is not None:
            _claim(storage, run)
            if run.status == RUNNING:  # on another host, or by a plain `flowrun` here
                _still_running(session, storage, run, explicit=wanted != LAST)
                continue
        if run is None:
            why = "its last run succeeded" if storage.list_runs(flow=flow.id, limit=1) \
                else "it has no recorded run yet; run it without --resume"
            session.notes.append(f"{flow.id}: nothing to resume ({why})")
            continue
        requests.append(_request(session, flow, run, params[flow.id]))
    return requests


def _still_running(session: Any, storage: Any, run: Run, explicit: bool) -> None:
    """A run still running is not resumed (its tasks would run twice): an error when
    asked for by id, else a note; the flow's lock taken for it is given back."""
    on = f" on host {run.host}" if run.host else ""
    if explicit:
        raise FlowrunError(f"run {run.id} of {run.flow_id} is still running{on}; wait "
                           "for it to end, then resume it if it fails")
    if isinstance(storage, SlotStore):
        storage.unlock_flow(run.flow_id)
    session.notes.append(f"{run.flow_id}: nothing to resume (its last run {run.id} is "
                         f"still running{on})")


def _claim(storage: Any, run: Run) -> None:
    """Hold the flow's lock for this session, so two ``--resume`` of one run never run
    its tasks twice (the lock dies with the process; a store without locks cannot
    tell, and resumes as asked)."""
    if isinstance(storage, SlotStore) and not storage.lock_flow(run.flow_id):
        raise FlowrunError(f"run {run.id} of {run.flow_id} is being resumed (or run by "
                           "--due) by another flowrun process right now; wait for it, "
                           "then resume again if it fails")


def _last_unfinished(storage: Any, flow_id: str) -> Run | None:
    """The flow's newest run that got to its tasks, unless it succeeded. Runs that
    failed before their first task (they carry an ``error``) have nothing to resume."""
    for run in storage.list_runs(flow=flow_id, limit=50):
        if run.error is None:
            return None if run.status == SUCCEEDED else run
    return None


def _record_unloadable(session: Any, wanted: str) -> None:
    """A flow whose file no longer collects cannot be resumed: record that attempt as a
    ``failed`` run with the collection error, linked to the run it would resume."""
    from flowrun.session import chosen_run_ids  # here: `flowrun history` needs no engine

    storage = session.storage
    if not getattr(session, "records_unstarted", False):  # e.g. `explain --resume`
        return
    for error in session.errors:
        flow_id = getattr(error, "where", "").partition("::")[0]
        if not flow_id:
            continue
        if wanted == LAST:
            run = _last_unfinished(storage, flow_id)
        else:
            run = storage.get_run(wanted)
            run = run if run.flow_id == flow_id else None
        if run is not None:  # a run named by id takes the id chosen for it (the UI's)
            ids = iter(chosen_run_ids()) if wanted != LAST else None
            record_unstarted(storage, [flow_id], f"cannot resume run {run.id}: {error}",
                             run.params, ids, resumed_from=run.id)


def _request(session: Any, flow: Any, run: Run, defaults: dict[str, Any]) -> RunRequest:
    given = {k for k, _, _ in (p.partition("=") for p in session.config.getoption("param")
                               or ())}
    params = {name: (defaults[name] if name in given or name not in run.params
                     else run.params[name]) for name in defaults}
    reuse, stored, changed = resume_plan(session.storage, flow, run, params)
    forced = forced_names(session.config, flow)
    reuse, stored = without_forced(flow, reuse, stored, forced, force_downstream())
    note = f"{flow.id}: resuming run {run.id} ({run.status}): {len(reuse)} task result" \
           f"{'s' * (len(reuse) != 1)} reused"
    if stored:
        note += f" (and up to {len(stored)} of instances, children and subflow tasks)"
    if changed:
        note += f"; code changed, running again: {', '.join(changed)}"
    if forced:
        note += f"; forced to run again: {', '.join(sorted(forced))}"
    session.notes.append(note)
    alone = frozenset() if force_downstream() else frozenset(forced)
    return RunRequest(flow, params, partition=run.partition,
                      scheduled_for=run.scheduled_for, resumed_from=run.id, reuse=reuse,
                      stored=stored, rerun_alone=alone)


def force_downstream() -> bool:
    """Whether what follows a forced task reruns too (``--force``'s meaning); the UI's
    "rerun this task only" sets ``FLOWRUN_FORCE_DOWNSTREAM=0`` for its child run."""
    return os.environ.get("FLOWRUN_FORCE_DOWNSTREAM", "1") != "0"


def without_forced(flow: Any, reuse: dict[str, Any], stored: dict[str, Any],
                   forced: set[str], downstream: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """The resume plan minus the forced tasks (and, ``downstream``, all that follows
    them): their results, and those of their instances and children, are not reused.
    The engine already reruns what follows a task that was not reused."""
    if not forced:
        return reuse, stored
    gone = set(forced)
    if downstream:
        grew = True
        while grew:
            more = {n for n, t in flow.tasks.items() if n not in gone
                    and any(u in gone for u in t.upstream)}
            gone |= more
            grew = bool(more)
    prefixes = tuple(f"{flow.id}::{name}{sep}" for name in gone for sep in ("[", "::"))
    return ({n: r for n, r in reuse.items() if n not in gone},
            {i: r for i, r in stored.items() if not i.startswith(prefixes)})
