"""``flowrun explain [SELECTION]``: for each task, what the next run would do with it
(run it, reuse a cached result, or skip it) and why, read from the store without
running anything: the run key seen before, code changed since the last success,
parameters changed, upstream changed. Snakemake's and Luigi's most asked question.

It mirrors the engine's rules: a task with a ``run_key`` is cached when a succeeded
attempt has the same key; with ``--resume`` a task whose stored result is reused (and
whose upstream is reused too) does not run; ``run_if='failed'`` tasks are skipped
unless something upstream fails; everything else runs.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import click

from flowrun import graph
from flowrun.cli.explain_resume import ResumePlan, reused, why_rerun
from flowrun.model import HAS_RESULT, Flow, Report, Run, Task
from flowrun.plugin import results
from flowrun.plugin.source import task_source_hash
from flowrun.resume import looks_like_a_path

RUN, CACHED, REUSE, SKIP, FAIL = "run", "cached", "reuse", "skip", "fail"
HISTORY = 50  # runs of a flow searched for each task's last success


@dataclass
class Verdict:
    task: str
    verdict: str
    reasons: list[str] = field(default_factory=list)
    changed: bool = False   # code, parameters or upstream differ from the last success
    value: Any = None       # the result a cached / reused task would pass on
    known: bool = False     # ``value`` is known now (for downstream run keys)
    extra: dict[str, Any] = field(default_factory=dict)  # --resume's JSON fields
    blob: bytes | None = None  # ``value`` as stored (its hash: a cached downstream's part)


def make_explain_command(factory: Any) -> click.Command:
    @click.command("explain")
    @click.argument("args", nargs=-1, metavar="[PATH | NODEID]...")
    @click.option("-k", "keyword", metavar="EXPR", help="Select tasks by name expression.")
    @click.option("-m", "markexpr", metavar="EXPR", help="Select tasks by tag expression.")
    @click.option("--param", multiple=True, metavar="K=V", help="Set a flow parameter.")
    @click.option("--resume", is_flag=False, flag_value="last", default=None,
                  metavar="[RUN]", help="Say what --resume [RUN] would reuse or run "
                  "again, and why.")
    @click.option("--force", is_flag=True, help="As the run's --force: the tasks named "
                  "are not taken from a cache.")
    @click.option("--store", metavar="URL", help="Where runs are kept.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
    def explain(args: tuple[str, ...], as_json: bool, **options: Any) -> int:
        """What the next run would run, reuse or skip, and why."""
        wanted = options.get("resume")
        if wanted and wanted != "last" and looks_like_a_path(wanted):  # as the run's
            options["resume"], args = "last", (wanted, *args)
        config = factory.make(options)
        found, errors, headers = explain_selection(config, list(args))
        for error in errors:
            click.echo(f"ERROR collecting {error.where}: {error}", err=True)
        if as_json:
            click.echo(json.dumps(explain_document(found), indent=2))
            for flow_id, header in headers.items():  # a flow --resume leaves alone
                if not found[flow_id]:
                    click.echo(f"{flow_id}: {header}", err=True)
            return 1 if errors else 0
        _print_text(found, headers)
        return 1 if errors else 0

    return explain


def _print_text(found: dict[str, list[Verdict]], headers: dict[str, str]) -> None:
    for flow_id, verdicts in found.items():
        click.echo(f"{flow_id}: {headers[flow_id]}" if flow_id in headers else flow_id)
        width = max((len(v.task) for v in verdicts), default=0)
        for v in verdicts:
            click.echo(f"  {v.task.ljust(width)}  {v.verdict.ljust(6)}  "
                       f"{'; '.join(v.reasons)}".rstrip())


def explain_document(found: dict[str, list[Verdict]]) -> dict[str, Any]:
    """``explain --json`` (schema ``explain``): flow id -> its tasks' verdicts, beside
    the ``schema`` key (no flow id is ``schema``: ids are paths)."""
    from flowrun.schemas import tag

    return {"schema": tag("explain"), **{
        fid: [{"task": v.task, "verdict": v.verdict, "reasons": v.reasons, **v.extra}
              for v in verdicts] for fid, verdicts in found.items()}}


def explain_selection(config: Any, args: list[str]
                      ) -> tuple[dict[str, list[Verdict]], list[Any], dict[str, str]]:
    """Collect and select as a run would, then judge every selected task; also the
    files that failed to collect (a run would report them too), and with ``--resume``
    a line per flow saying which run it continues (or that it resumes nothing)."""
    from flowrun.config import open_storage
    from flowrun.session import Session

    from flowrun.caching import Fingerprinter, hash_cache_path
    from flowrun.forcing import forced_ids

    session = Session(config)
    session.collect(args)
    params = session._flow_params()
    session.storage = open_storage(config)
    cache = Fingerprinter(config.rootdir, hash_cache_path(config)), \
        forced_ids(config, session.flows)
    try:
        requests = {r.flow.id: r for r in session.requests(params)}
        resuming = bool(config.getoption("resume"))
        found, headers = {}, {}
        for flow in session.flows:
            request = requests.get(flow.id)
            if resuming and request is None:  # --resume leaves this flow alone
                found[flow.id] = []
                headers[flow.id] = _nothing_to_resume(session.notes, flow.id)
                continue
            plan = ResumePlan.of(session.storage, request) if resuming else None
            verdicts = explain_flow(flow, params[flow.id], request.reuse if request else {},
                                    session.storage, plan, cache)
            if request is not None and request.stored:
                _note_stored_nodes(flow, verdicts, request.stored)
            found[flow.id] = verdicts
            if plan is not None:
                headers[flow.id] = plan.header()
        return found, session.errors, headers
    finally:
        cache[0].save()
        session.close()


def _nothing_to_resume(notes: list[str], flow_id: str) -> str:
    """The resume plugin's note for a flow it leaves alone, without the flow id."""
    prefix = f"{flow_id}: "
    said = [n[len(prefix):] for n in notes if n.startswith(prefix + "nothing to resume")]
    return said[0] if said else "nothing to resume"


def explain_flow(flow: Flow, params: dict[str, Any], reuse: dict[str, Report],
                 storage: Any, plan: ResumePlan | None = None, cache: Any = None
                 ) -> list[Verdict]:
    history = _history(flow, storage)
    verdicts: dict[str, Verdict] = {}
    for name in graph.order(flow):
        if flow.selected is not None and name not in flow.selected:
            continue
        task = flow.tasks[name]
        ups = [verdicts[u] for u in task.upstream if u in verdicts]
        verdicts[name] = _judge(task, ups, params, reuse.get(name), history, storage, plan)
        if task.data_aware and cache is not None and verdicts[name].verdict == RUN:
            _judge_data(task, ups, params, verdicts[name], storage, cache)
    return list(verdicts.values())


def _judge(task: Task, ups: list[Verdict], params: dict[str, Any], stored: Report | None,
           history: dict[str, tuple[Report | None, Run | None, str | None]],
           storage: Any, plan: ResumePlan | None = None) -> Verdict:
    v = Verdict(task.name, RUN)
    last, last_run, last_status = history.get(task.id, (None, None, None))
    v.reasons, v.changed = _changes(task, ups, params, last, last_run, last_status)
    rerun_upstream = [u.task for u in ups if u.verdict != REUSE]
    if stored is not None and not rerun_upstream:
        v.verdict, v.known = REUSE, True
        v.value, v.blob = results.loads(stored.result, stored.result_format), stored.result
        reason, v.extra = reused(stored)
        v.reasons = [reason]
        return v
    if plan is not None:
        reason, v.extra = why_rerun(plan, task, stored is not None, rerun_upstream)
        v.reasons, v.changed = [reason], True
    if task.options.run_if == "failed":
        v.verdict = SKIP
        v.reasons = ["run_if='failed': runs only if an upstream task fails"]
    elif task.options.run_key is not None:
        _judge_run_key(task, ups, params, v, storage)
    elif plan is None and not v.changed and last is not None:
        v.reasons.append("no run_key, so it runs every time (set run_key= to reuse "
                         "its result)")
    return v


def _changes(task: Task, ups: list[Verdict], params: dict[str, Any], last: Report | None,
             last_run: Run | None, last_status: str | None) -> tuple[list[str], bool]:
    """Why this task differs from its last success (or that it never had one)."""
    if last is None:
        if last_status is None:
            return ["never ran"], True
        return [f"never succeeded (last run: {last_status})"], True
    reasons = []
    now = task.source_hash or task_source_hash(task.fn)
    if last.source_hash and now and last.source_hash != now:
        reasons.append(f"code changed since last success (run {last.run_id})")
    old_params = last_run.params if last_run else {}
    for name, value in params.items():
        if name in task.params and name in old_params and old_params[name] != value:
            reasons.append(f"parameter {name} changed: {old_params[name]!r} -> {value!r}")
    changed_ups = [u.task for u in ups if u.changed and u.verdict == RUN]
    if changed_ups:
        reasons.append(f"upstream changed: {', '.join(changed_ups)}")
    if not reasons:
        return [f"unchanged since last success (run {last.run_id})"], False
    return reasons, True


def _judge_run_key(task: Task, ups: list[Verdict], params: dict[str, Any], v: Verdict,
                   storage: Any) -> None:
    unknown = [u.task for u in ups if not u.known and u.task in task.inputs.values()]
    if unknown:
        why = f"its run key depends on {', '.join(unknown)}, which runs first"
        v.reasons = [f"decided at run time: {why} (cached if the key was seen)"]
        return
    by_name = {u.task: u.value for u in ups}
    kwargs = {name: params.get(name, default) for name, default in task.params.items()}
    kwargs.update({param: by_name.get(up) for param, up in task.inputs.items()})
    if task.options.each is not None:
        return _judge_instances(task, kwargs, v, storage)
    try:
        key = str(task.options.run_key(**kwargs))
    except Exception as exc:  # noqa: BLE001 - the user's run_key; the run would fail it
        v.verdict, v.reasons = FAIL, [f"run_key raised {type(exc).__name__}: {exc}"]
        return
    hit = storage.find_cached(task.id, key)
    if hit is None:
        v.reasons = [f"run key {key!r} not seen before"] + [
            r for r in v.reasons if not r.startswith("unchanged")]
        return
    v.verdict, v.known, v.changed = CACHED, True, False
    v.value, v.blob = results.loads(hit.result, hit.result_format), hit.result
    v.extra["reused_by"] = "run_key"
    note = [f"run key {key!r} seen: succeeded in run {hit.run_id}"]
    now = task.source_hash or task_source_hash(task.fn)
    if hit.source_hash and now and hit.source_hash != now:
        note.append("note: code changed since; the key alone decides, so the old "
                    "result is reused")
    v.reasons = note


def _judge_data(task: Task, ups: list[Verdict], params: dict[str, Any], v: Verdict,
                storage: Any, cache: Any) -> None:
    """A task that declares files or is cached (``flowrun.cli.explain_cache``)."""
    from flowrun.cli.explain_cache import judge_cached, judge_files

    fingerprinter, forced = cache
    if judge_files(task, ups, v, params, fingerprinter) or not task.options.cache \
            or task.options.run_key is not None:
        return
    judge_cached(task, ups, params, v, storage, fingerprinter, task.id in forced)


def _note_stored_nodes(flow: Flow, verdicts: list[Verdict], stored: dict[str, Report]
                       ) -> None:
    """--resume: a task that runs again still reuses its instances (and children and
    subflow tasks) that succeeded, when their arguments and code are unchanged."""
    for v in verdicts:
        if v.verdict != RUN:
            continue
        prefix = flow.tasks[v.task].id
        kept = [tid for tid in stored if tid.startswith((prefix + "[", prefix + "::"))]
        if kept:
            v.reasons.append(f"--resume: {len(kept)} of its instances, children or "
                             "subflow tasks succeeded and are reused if their arguments "
                             "are unchanged")


def _judge_instances(task: Task, kwargs: dict[str, Any], v: Verdict, storage: Any) -> None:
    """A mapped task with a run key: each instance is looked up by its own key, among
    every instance of the task (whatever its position), as the run will."""
    each = task.options.each
    if isinstance(each, str):
        value = kwargs.get(each)
        if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
            v.reasons = ["decided at run time: each instance has its own run key"]
            return
        items = [{each: item} for item in value]
    else:
        items = [dict(combo) for combo in task.static_each]
    hits, runs = [], []
    for i, item in enumerate(items):
        try:
            key = str(task.options.run_key(**{**kwargs, **item}))
        except Exception as exc:  # noqa: BLE001 - the user's run_key; the run would fail it
            v.verdict, v.reasons = FAIL, [f"{task.name}[{i}]: run_key raised "
                                          f"{type(exc).__name__}: {exc}"]
            return
        hit = storage.find_cached(task.id, key, instances=True)
        (hits if hit is not None else runs).append((i, key, hit))
    if not runs:
        v.verdict, v.known, v.changed = CACHED, True, False
        v.value = [results.loads(h.result, h.result_format) for _, _, h in hits]
        v.reasons = [f"all {len(items)} instances cached: their run keys were seen"]
        return
    shown = ", ".join(f"[{i}] {key!r}" for i, key, _ in runs[:5])
    more = f" and {len(runs) - 5} more" if len(runs) > 5 else ""
    v.reasons = [f"{len(hits)} of {len(items)} instances cached by run key; "
                 f"{len(runs)} run: {shown}{more}"]


def _history(flow: Flow, storage: Any
             ) -> dict[str, tuple[Report | None, Run | None, str | None]]:
    """Task id -> (last successful attempt, its run, the status in the newest run)."""
    found: dict[str, tuple[Report | None, Run | None, str | None]] = {}
    wanted = {t.id for t in flow.tasks.values()}
    for run in storage.list_runs(flow=flow.id, limit=HISTORY):
        newest: dict[str, Report] = {}
        for report in storage.attempts(run.id):
            newest[report.task_id] = report
        for task_id, report in newest.items():
            if task_id not in wanted:
                continue
            last, last_run, status = found.get(task_id, (None, None, None))
            status = status or report.status
            if last is None and report.status in HAS_RESULT:
                last, last_run = report, run
            found[task_id] = (last, last_run, status)
        if all(found.get(t, (None,))[0] is not None for t in wanted):
            break
    return found
