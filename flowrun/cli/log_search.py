"""``flowrun logs --grep TEXT [--flow F]``: stored lines of every run that hold TEXT's
words, newest runs first, from the store's full-text search (``LogSearchStore``), or
by reading each run's attempts in a store without one (``flowrun.plugin.search_logs``)."""
from __future__ import annotations

import json
from typing import Any

import click

from flowrun.errors import UsageError
from flowrun.schemas import tag

LONGEST = 1000
LIMIT = 200


def grep_logs(storage: Any, text: str, flow: str | None, as_json: bool) -> int:
    if not text.strip() or len(text) > LONGEST:
        raise UsageError(f"--grep takes 1 to {LONGEST} characters of text to look for")
    from flowrun.plugin import search_logs

    hits = search_logs(storage, text, flow, LIMIT)
    if as_json:
        click.echo(json.dumps(document(text, flow, hits), indent=2))
        return 0
    for hit in hits:
        click.echo(f"{hit.run_id}  {hit.task_id} (attempt {hit.attempt}, {hit.stream}:"
                   f"{hit.line_number})  {hit.line}")
    if not hits:
        click.echo(f"no stored line holds {text!r}" + (f" in runs of {flow}" if flow else ""))
    return 0


def document(text: str, flow: str | None, hits: list[Any]) -> dict[str, Any]:
    return {"schema": tag("log-search"), "query": text, "flow": flow,
            "hits": [hit._asdict() for hit in hits]}
