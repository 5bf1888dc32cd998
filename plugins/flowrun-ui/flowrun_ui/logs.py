"""A run's captured output as the API serves it: per task and attempt, its last lines
first (a log of any size opens at once; the whole of it downloads as text), searched
on the server with lines of context around each match; and every stored log of every
run searched at once (the store's full-text search)."""
from __future__ import annotations

import re
from typing import Any, Iterator

from flowrun.plugin import search_logs

from flowrun_ui import actions
from flowrun_ui.launcher import Pending
from flowrun_ui.views import log_json

STREAMS = ("stdout", "stderr", "log")
MOST_MATCHES = 500


def attempts(state: Any, run_id: str, task: str | None) -> list[Any]:
    """The run's attempts that ran or captured something (``task``: that task's only,
    404 if the run has no such task)."""
    run = actions.find_run(state, run_id)
    every = [] if isinstance(run, Pending) else state.store.attempts(run.id)
    if task is not None:
        if task not in {r.task_id for r in every}:
            raise actions.ApiError(404, f"no task {task!r} in run {run.id}")
        every = [r for r in every if r.task_id == task]
    return [r for r in every if r.attempt > 0 or r.stdout or r.stderr or r.log]


def entries(reports: list[Any], tail: int | None) -> list[dict[str, Any]]:
    """Each attempt's streams; with ``tail``, only each stream's last lines, with how
    many lines it has in all."""
    found = []
    for report in reports:
        entry = log_json(report)
        if tail is not None:
            entry["lines"] = {}
            for stream in STREAMS:
                text = entry[stream]
                unended = bool(text) and not text.endswith("\n")
                entry["lines"][stream] = text.count("\n") + unended
                entry[stream] = last_lines(text, tail)
            entry["truncated"] = any(n > tail for n in entry["lines"].values())
        found.append(entry)
    return found


def last_lines(text: str, count: int) -> str:
    """The last ``count`` lines of ``text``, found from its end (a 50 MB log is never
    split into lines)."""
    end = len(text) - 1 if text.endswith("\n") else len(text)
    cut = end
    for _ in range(count):
        cut = text.rfind("\n", 0, cut)
        if cut < 0:
            return text
    return text[cut + 1:] if count else ""


def matches(reports: list[Any], text: str, context: int) -> list[dict[str, Any]]:
    """Lines holding ``text`` (case-insensitive), each with ``context`` lines around."""
    needle = re.compile(re.escape(text), re.IGNORECASE)
    found = []
    for report in reports:
        for stream in STREAMS:
            lines = (getattr(report, stream) or "").splitlines()
            for i, line in enumerate(lines):
                if not needle.search(line):
                    continue
                found.append({"task_id": report.task_id, "attempt": report.attempt,
                              "stream": stream, "line_number": i + 1, "line": line,
                              "before": lines[max(0, i - context):i],
                              "after": lines[i + 1:i + 1 + context]})
                if len(found) >= MOST_MATCHES:
                    return found
    return found


def as_text(reports: list[Any]) -> Iterator[str]:
    """The whole log as ``flowrun logs`` prints it, one attempt after another."""
    for report in reports:
        yield f"=== {report.task_id} (attempt {report.attempt}, {report.status}) ===\n"
        for stream in STREAMS:
            text = getattr(report, stream) or ""
            if text:
                yield f"--- {stream} ---\n"
                yield text if text.endswith("\n") else text + "\n"


def search(state: Any, text: str, flow: str | None, limit: int) -> list[dict[str, Any]]:
    if not text.strip():
        raise actions.ApiError(400, "q: give some text to look for")
    return [hit._asdict() for hit in search_logs(state.store, text, flow, limit)]
