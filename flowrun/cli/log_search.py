"""``flowrun logs --grep TEXT [--flow F]``: stored lines of every run that hold TEXT's
words, newest runs first, from the store's full-text search (``LogSearchStore``), or
by reading each run's attempts in a store without one."""
from __future__ import annotations

import json
import re
from typing import Any

import click

from flowrun.errors import UsageError
from flowrun.schemas import tag

LONGEST = 1000
LIMIT = 200


def grep_logs(storage: Any, text: str, flow: str | None, as_json: bool) -> int:
    if not text.strip() or len(text) > LONGEST:
        raise UsageError(f"--grep takes 1 to {LONGEST} characters of text to look for")
    hits = search(storage, text, flow, LIMIT)
    if as_json:
        click.echo(json.dumps(document(text, flow, hits), indent=2))
        return 0
    for hit in hits:
        click.echo(f"{hit.run_id}  {hit.task_id} (attempt {hit.attempt}, {hit.stream}:"
                   f"{hit.line_number})  {hit.line}")
    if not hits:
        click.echo(f"no stored line holds {text!r}" + (f" in runs of {flow}" if flow else ""))
    return 0


def search(storage: Any, text: str, flow: str | None, limit: int) -> list[Any]:
    from flowrun.plugin import LogHit, LogSearchStore

    if isinstance(storage, LogSearchStore):
        return storage.search_logs(text, flow=flow, limit=limit)
    words = [w.lower() for w in re.findall(r"\w+", text)]
    hits: list[Any] = []
    for run in storage.list_runs(flow=flow):  # any store: the slow way
        for a in storage.attempts(run.id):
            for stream in ("stdout", "stderr", "log"):
                for number, line in enumerate((getattr(a, stream) or "").splitlines(), 1):
                    if words and all(w in line.lower() for w in words):
                        hits.append(LogHit(run.id, run.flow_id, a.task_id, a.attempt,
                                           stream, number, line))
                        if len(hits) >= limit:
                            return hits
    return hits


def document(text: str, flow: str | None, hits: list[Any]) -> dict[str, Any]:
    return {"schema": tag("log-search"), "query": text, "flow": flow,
            "hits": [hit._asdict() for hit in hits]}
