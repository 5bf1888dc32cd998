"""HTML made on the server: small functions returning escaped strings. No template
engine and no build step; the one script and stylesheet are served from this package."""
from __future__ import annotations

import json
from html import escape
from typing import Any
from datetime import datetime
from urllib.parse import quote

NAV = (("/", "Runs"), ("/flows", "Flows"))


def page(title: str, body: str, data: dict[str, Any] | None = None) -> str:
    """A whole page; ``data`` reaches the script as JSON (``#page-data``)."""
    nav = "".join(f'<a href="{href}">{name}</a>' for href, name in NAV)
    blob = escape(json.dumps(data or {}), quote=False).replace("</", "<\\/")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · flowrun</title>"
        '<link rel="icon" href="data:,">'
        '<link rel="stylesheet" href="/static/app.css"></head><body>'
        f'<header><strong class="brand">flowrun</strong><nav>{nav}</nav>'
        '<span id="live" class="live" title="live updates">●</span></header>'
        f"<main>{body}</main>"
        f'<script type="application/json" id="page-data">{blob}</script>'
        '<script src="/static/app.js"></script></body></html>')


def link_run(run_id: str) -> str:
    return f'<a href="/runs/{quote(run_id)}">{escape(run_id)}</a>'


def link_flow(flow_id: str) -> str:
    return f'<a href="/flows/{quote(flow_id, safe="")}">{escape(flow_id)}</a>'


def badge(status: str) -> str:
    return f'<span class="badge st-{escape(status)}">{escape(status)}</span>'


def when(stamp: str | None) -> str:
    if not stamp:
        return "-"
    return f'<time datetime="{escape(stamp)}">{escape(stamp[:19].replace("T", " "))}</time>'


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}s" if value < 120 else f"{value / 60:.1f}min"


def counts(values: dict[str, int]) -> str:
    return ", ".join(f"{n} {escape(s)}" for s, n in sorted(values.items())) or "-"


def run_row(run: dict[str, Any]) -> str:
    return (f'<tr data-run-id="{escape(run["id"])}" data-status="{escape(run["status"])}">'
            f'<td>{link_run(run["id"])}</td><td>{link_flow(run["flow_id"])}</td>'
            f'<td class="status">{badge(run["status"])}</td><td>{when(run["started"])}</td>'
            f'<td class="duration">{seconds(run["duration"])}</td>'
            f'<td>{escape(run["partition"] or "")}</td>'
            f'<td class="counts">{_tasks_cell(run)}</td></tr>')


def _tasks_cell(run: dict[str, Any]) -> str:
    """The task counts; for a run that failed before its first task, why."""
    if not run["counts"] and run.get("error"):
        return f'<span class="error">not started: {escape(run["error"])}</span>'
    return counts(run["counts"])


def runs_table(runs: list[dict[str, Any]]) -> str:
    head = "".join(f"<th>{h}</th>" for h in ("Run", "Flow", "Status", "Started (UTC)",
                                             "Duration", "Partition", "Tasks"))
    rows = "".join(run_row(run) for run in runs)
    empty = "" if runs else '<p class="empty">No runs yet: run <code>flowrun</code>.</p>'
    return (f'<table id="runs" class="grid"><thead><tr>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table>{empty}")


def select(name: str, options: list[str], chosen: str | None, blank: str) -> str:
    items = [f'<option value="">{escape(blank)}</option>'] + [
        f'<option{" selected" if o == chosen else ""}>{escape(o)}</option>' for o in options]
    return f'<select name="{escape(name)}">{"".join(items)}</select>'


def timeline(run: dict[str, Any], tasks: list[dict[str, Any]]) -> str:
    """Where the time went: one bar per task, placed within the run's span."""
    spans = [(t, _stamp(t["started"]), _stamp(t["ended"])) for t in tasks if t["started"]]
    if not spans:
        return '<p class="empty">No task has started.</p>'
    start = min(s for _, s, _ in spans)
    end = max([e or s for _, s, e in spans] + [_stamp(run["ended"]) or 0])
    total = max(end - start, 1e-6)
    rows = []
    for task, s, e in sorted(spans, key=lambda x: x[1])[:500]:
        left, width = (s - start) / total * 100, max(((e or end) - s) / total * 100, 0.3)
        rows.append(
            f'<div class="tl-row" data-task-id="{escape(task["task_id"])}">'
            f'<span class="tl-name">{escape(task["task_id"].split("::", 1)[-1])}</span>'
            f'<span class="tl-track"><span class="tl-bar st-{escape(task["status"])}" '
            f'style="left:{left:.2f}%;width:{width:.2f}%" title="'
            f'{escape(seconds(task["duration"]))}"></span></span>'
            f'<span class="tl-time">{seconds(task["duration"])}</span></div>')
    return f'<div class="timeline">{"".join(rows)}</div>'


def task_details(task: dict[str, Any]) -> str:
    attempts = "".join(
        f'<tr><td>{a["number"]}</td><td>{badge(a["status"])}</td><td>{when(a["started"])}'
        f'</td><td>{when(a["ended"])}</td><td>{escape(a["reason"] or "")}</td></tr>'
        for a in task["attempts"])
    error = f'<pre class="error">{escape(task["error"])}</pre>' if task["error"] else ""
    reason = f'<p class="reason">{escape(task["reason"])}</p>' if task["reason"] else ""
    return (f'<details class="task" data-task-id="{escape(task["task_id"])}">'
            f'<summary>{badge(task["status"])} <code>{escape(task["task_id"])}</code> '
            f'<span class="muted">{seconds(task["duration"])}</span></summary>'
            f'{reason}<table class="grid small"><thead><tr><th>#</th><th>Status</th>'
            f'<th>Started</th><th>Ended</th><th>Reason</th></tr></thead>'
            f'<tbody>{attempts}</tbody></table>{error}'
            '<div class="output" data-loaded="no"></div></details>')


def _stamp(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.fromisoformat(text).timestamp()

