"""What the pages compute beside the templates: timeline bars, the per-flow history grid
(last runs × tasks, as Airflow's grid view), small links and facts."""
from __future__ import annotations

from typing import Any

from markupsafe import Markup

from flowrun_ui.graphs import PRECEDENCE
from flowrun_ui.rendering import badge, flow_href, now, run_href, stamp, when
from flowrun_ui.views import group_id


def run_link(run_id: str) -> Markup:
    return Markup('<a href="{0}"><code>{1}</code></a>').format(run_href(run_id), run_id)


def run_links(run_ids: list[str]) -> Markup:
    return Markup(", ").join(run_link(r) for r in run_ids)


def flow_link(flow_id: str) -> Markup:
    return Markup('<a href="{0}">{1}</a>').format(flow_href(flow_id), flow_id)


def timeline(run: dict[str, Any], tasks: list[dict[str, Any]], most: int
             ) -> tuple[list[dict[str, Any]], int]:
    """Where the time went: one bar per started task, placed within the run's span
    (a running task's bar reaches now)."""
    spans = [(t, stamp(t["started"]), stamp(t["ended"])) for t in tasks if t["started"]]
    if not spans:
        return [], 0
    start = min(s for _, s, _ in spans)
    end = max([e or s for _, s, e in spans] + [stamp(run["ended"]) or 0])
    if run["status"] == "running":
        end = max(end, now())  # running bars reach now: the timeline grows as they run
    total = max(end - start, 1e-6)
    bars = []
    for task, s, e in sorted(spans, key=lambda x: x[1])[:most]:
        bars.append({"task_id": task["task_id"], "status": task["status"],
                     "duration": task["duration"], "left": (s - start) / total * 100,
                     "width": max(((e or end) - s) / total * 100, 0.3)})
    return bars, max(len(spans) - most, 0)


def history(state: Any, flow: dict[str, Any], limit: int) -> dict[str, Any]:
    """The flow's last ``limit`` runs, oldest first, each with its status per task
    (mapped instances folded into their task); rows: the flow's tasks, then others."""
    from flowrun_ui.actions import list_runs

    runs = list_runs(state, flow["id"], None, limit, None)
    columns, seen = [], {t["id"]: None for t in flow.get("tasks", [])}
    for run in reversed(runs):
        cells = fold(state.store.attempts(run["id"]))
        seen.update(dict.fromkeys(cells))
        columns.append({"id": run["id"], "status": run["status"], "started": run["started"],
                        "cells": cells})
    return {"flow_id": flow["id"], "tasks": list(seen), "runs": columns}


def fold(reports: list[Any]) -> dict[str, str]:
    """Task (or group of instances) -> status, by each one's newest attempt."""
    newest: dict[str, Any] = {}
    for report in reports:
        old = newest.get(report.task_id)
        if old is None or report.attempt >= old.attempt:
            newest[report.task_id] = report
    groups: dict[str, set[str]] = {}
    own: dict[str, str] = {}
    for task_id, report in newest.items():
        node = group_id(task_id)
        if node == task_id:
            own[node] = str(report.status)
        else:
            groups.setdefault(node, set()).add(str(report.status))
    for node, present in groups.items():
        if node not in own:
            own[node] = next((s for s in PRECEDENCE if s in present), "pending")
    return own


def grid_json(grid: dict[str, Any]) -> dict[str, Any]:
    """The API's form of the history grid: runs newest first."""
    return {"flow_id": grid["flow_id"], "tasks": grid["tasks"],
            "runs": list(reversed(grid["runs"]))}


def flow_facts(flow: dict[str, Any], last: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    schedule = Markup("<code>{0}</code>").format(flow.get("schedule") or "none")
    if flow.get("timezone"):
        schedule += Markup(" ({0})").format(flow["timezone"])
    facts = [("Schedule", schedule), ("Next due", when(flow.get("next_due"))),
             ("Tags", ", ".join(flow.get("tags", [])) or "-"),
             ("Last run", run_link(last[0]["id"]) + Markup(" ") + badge(last[0]["status"])
              if last else "never")]
    if flow.get("partitions"):
        facts.append(("Partitions", Markup('<a href="{0}/partitions">the grid</a>').format(
            flow_href(flow["id"]))))
    return facts


