"""``flowrun graph FLOW``: a flow's tasks and edges as text, Graphviz dot, Mermaid, JSON
(``Flow.to_dict()``) or SVG; with ``--run RUN`` each node shows that run's status.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import click

from flowrun import graph as graphs
from flowrun.config import check_output_path
from flowrun.errors import UsageError

FORMATS = ("text", "dot", "mermaid", "json", "svg")
#: Fill colours by status (the terminal reporter's green / red / yellow, lighter).
FILL = {"succeeded": "#b7e4c7", "cached": "#d8f3dc", "failed": "#f4a6a6",
        "skipped": "#ffe8a1", "cancelled": "#e9ecef", "running": "#a9d6f5",
        "pending": "#ffffff"}
NO_DOT = ("--format svg needs Graphviz's `dot`, which is not installed: install graphviz "
          "(apt install graphviz, brew install graphviz) or use --format dot")


def make_graph_command(factory: Any) -> click.Command:
    @click.command("graph")
    @click.argument("flow", metavar="FLOW")
    @click.option("--format", "fmt", type=click.Choice(FORMATS), default="text",
                  show_default=True)
    @click.option("--run", "run_id", metavar="RUN",
                  help="Show that run's task statuses ('last': the newest run).")
    @click.option("-o", "--output", type=click.Path(dir_okay=False),
                  help="Write to a file instead of stdout.")
    @click.option("--store", metavar="URL", help="Where runs are kept.")
    def graph(flow: str, fmt: str, run_id: str | None, output: str | None,
              store: str | None) -> int:
        """Draw FLOW (a flow file): its tasks and what each waits for."""
        config = factory.make({"store": store})
        if output:
            output = check_output_path("-o", output)
        found = load_flow(config, flow)
        statuses = run_statuses(config, found, run_id) if run_id else {}
        text = render(found, fmt, statuses)
        if output:
            try:
                os.makedirs(os.path.dirname(output), exist_ok=True)
                with open(output, "w", encoding="utf-8") as handle:
                    handle.write(text)
            except OSError as exc:
                raise UsageError(f"-o {output}: cannot write: {exc.strerror}") from None
        else:
            click.echo(text, nl=not text.endswith("\n"))
        return 0

    return graph


def load_flow(config: Any, target: str) -> Any:
    """Collect the one flow in ``target``; its collection error is the user's error."""
    from flowrun.session import Session

    session = Session(config)
    session.collect([target])
    if session.errors:
        raise session.errors[0]
    if len(session.flows) != 1:
        raise UsageError(f"{target}: not a flow file (flowrun graph takes one flow file)")
    return session.flows[0]


def run_statuses(config: Any, flow: Any, run_id: str) -> dict[str, str]:
    """Task name -> final status in ``run_id`` (a run of ``flow``)."""
    from flowrun.config import open_storage

    storage = open_storage(config)
    try:
        if run_id == "last":
            runs = storage.list_runs(flow=flow.id, limit=1)
            if not runs:
                raise UsageError(f"{flow.id} has no runs yet")
            run = runs[0]
        else:
            run = storage.get_run(run_id)
        if run.flow_id != flow.id:
            raise UsageError(f"run {run.id} is of {run.flow_id}, not {flow.id}")
        return {a.task_id.partition("::")[2]: a.status for a in storage.attempts(run.id)}
    finally:
        storage.close()


def render(flow: Any, fmt: str, statuses: dict[str, str]) -> str:
    if fmt == "json":
        from flowrun.schemas import tag  # schema ``graph``: Flow.to_dict() and its name

        return json.dumps({"schema": tag("graph"), **flow.to_dict(statuses)}, indent=2,
                          default=repr)
    if fmt == "svg":
        return to_svg(to_dot(flow, statuses))
    return {"text": to_text, "dot": to_dot, "mermaid": to_mermaid}[fmt](flow, statuses)


def _ordered(flow: Any) -> list[Any]:
    return [flow.tasks[name] for name in graphs.order(flow)]


def _label(task: Any) -> str:
    extra = f" [each {task.options.each}]" if isinstance(task.options.each, str) else ""
    kind = f" ({task.task_type})" if task.task_type != "python" else ""
    return f"{task.name}{kind}{extra}"


def to_text(flow: Any, statuses: dict[str, str]) -> str:
    lines = [flow.id]
    for task in _ordered(flow):
        line = f"  {_label(task)}"
        if task.upstream:
            line += f"  <- {', '.join(task.upstream)}"
        status = statuses.get(task.name)
        lines.append(line + (f"  [{status}]" if status else ""))
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(flow: Any, statuses: dict[str, str]) -> str:
    lines = [f"digraph {_quote(flow.id)} {{", "  rankdir=LR;",
             '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", '
             'fontname="Helvetica"];']
    for task in _ordered(flow):
        status = statuses.get(task.name)
        attrs = f"label={_quote(_label(task) + (f' ({status})' if status else ''))}"
        if status:
            attrs += f", fillcolor={_quote(FILL.get(status, '#ffffff'))}"
        lines.append(f"  {_quote(task.name)} [{attrs}];")
    for task in _ordered(flow):
        lines += [f"  {_quote(up)} -> {_quote(task.name)};" for up in task.upstream]
    return "\n".join([*lines, "}"]) + "\n"


def to_mermaid(flow: Any, statuses: dict[str, str]) -> str:
    ids = {name: f"t{i}" for i, name in enumerate(flow.tasks)}
    lines = ["flowchart LR"]
    for task in _ordered(flow):
        status = statuses.get(task.name)
        label = _label(task) + (f" ({status})" if status else "")
        lines.append(f'  {ids[task.name]}["{label.replace(chr(34), "#quot;")}"]')
    for task in _ordered(flow):
        lines += [f"  {ids[up]} --> {ids[task.name]}" for up in task.upstream]
    used = sorted({s for s in (statuses.get(n) for n in flow.tasks) if s})
    for status in used:
        lines.append(f"  classDef {status} fill:{FILL.get(status, '#ffffff')},stroke:#333;")
        members = ",".join(ids[n] for n in flow.tasks if statuses.get(n) == status)
        lines.append(f"  class {members} {status};")
    return "\n".join(lines) + "\n"


def to_svg(dot_text: str) -> str:
    """Graphviz's rendering of ``dot_text``; a clear message when ``dot`` is missing."""
    dot = shutil.which("dot")
    if dot is None:
        raise UsageError(NO_DOT)
    proc = subprocess.run([dot, "-Tsvg"], input=dot_text, capture_output=True, text=True)
    if proc.returncode != 0:
        raise UsageError(f"Graphviz dot failed: {proc.stderr.strip()}")
    return proc.stdout
