"""Jinja2 (autoescaped) templates shipped with the package, and the small filters they
share: statuses as text and colour, times relative with the exact one on hover, the
first line of an error."""
from __future__ import annotations

import json
import os
import time
from datetime import datetime
from typing import Any
from urllib.parse import quote

import jinja2
from markupsafe import Markup
from starlette.templating import Jinja2Templates

#: A status is never shown by colour alone: each badge has its word and a sign.
SIGNS = {"succeeded": "✓", "cached": "✓", "failed": "✗", "running": "▶", "pending": "…",
         "cancelled": "⊘", "skipped": "↷", "interrupted": "■", "missing": "·",
         "missed": "·", "overlap": "↷", "paused": "⏸", "due": "…", "abandoned": "■"}


def now() -> float:
    """The clock ``--due`` uses: ``FLOWRUN_NOW`` (ISO 8601 or epoch seconds) where set."""
    text = os.environ.get("FLOWRUN_NOW")
    if not text:
        return time.time()
    try:
        return float(text)
    except ValueError:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def stamp(text: str | None) -> float | None:
    return datetime.fromisoformat(text).timestamp() if text else None


def ago(text: str | None) -> str:
    """``3 min ago`` (or ``in 3 min``) for an ISO time."""
    if not text:
        return "-"
    delta = now() - (stamp(text) or 0)
    later, delta = delta < 0, abs(delta)
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min"), (1, "s")):
        if delta >= size or unit == "s":
            words = f"{int(delta // size)} {unit}"
            return f"in {words}" if later else f"{words} ago"
    return text


def when(text: str | None) -> Markup:
    """A ``<time>``: relative, the exact UTC time on hover."""
    if not text:
        return Markup("-")
    exact = text[:19].replace("T", " ") + " UTC"
    return Markup('<time datetime="{0}" title="{1}">{2}</time>').format(text, exact, ago(text))


def badge(status: str | None) -> Markup:
    status = status or "pending"
    return Markup('<span class="badge st-{0}"><span aria-hidden="true">{1}</span> {0}'
                  '</span>').format(status, SIGNS.get(status, "•"))


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}s" if value < 120 else f"{value / 60:.1f}min"


def counts(values: dict[str, int] | None) -> str:
    return ", ".join(f"{n} {s}" for s, n in sorted((values or {}).items())) or "-"


def first_line(error: str | None) -> str:
    """The exception's own line (``ValueError: orders.csv missing``), not the
    ``Traceback ...`` header: the first unindented line after the last frame."""
    if not error:
        return ""
    lines = error.splitlines()
    frames = [i for i, line in enumerate(lines)
              if line.startswith("  File ") or line.startswith("Traceback")]
    for line in lines[frames[-1] + 1 if frames else 0:]:
        if line.strip() and not line.startswith(" "):
            return line.strip()
    return next((line.strip() for line in lines if line.strip()), "")


def run_href(run_id: str) -> str:
    return "/runs/" + quote(run_id)


def flow_href(flow_id: str) -> str:
    return "/flows/" + quote(flow_id, safe="")


def task_anchor(task_id: str) -> str:
    """A fragment id for a task's row (ids hold ``/``, ``:`` and ``[``)."""
    return "task-" + quote(task_id, safe="").replace("%", "_")


def page_data(data: dict[str, Any] | None) -> Markup:
    """The page's data for the script, safe inside ``<script type=application/json>``."""
    text = json.dumps(data or {}).replace("<", "\\u003c").replace(">", "\\u003e")
    return Markup(text.replace("&", "\\u0026"))


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("flowrun_ui", "templates"),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(when=when, badge=badge, seconds=seconds, counts=counts,
                       first_line=first_line, run_href=run_href, flow_href=flow_href,
                       anchor=task_anchor, ago=ago, page_data=page_data,
                       short=lambda task_id: task_id.split("::", 1)[-1])
    env.globals["signs"] = SIGNS
    env.globals["NAV"] = (("/", "Runs"), ("/flows", "Flows"), ("/schedules", "Schedules"),
                      ("/search", "Search"))
    return env


TEMPLATES = Jinja2Templates(env=_environment())
