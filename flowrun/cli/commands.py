"""[plugin] The built-in subcommands, registered through ``flowrun_commands`` exactly as
a plugin's (``flowrun ui``) are; each module is imported only when its command runs."""
from __future__ import annotations

from typing import Any

from flowrun.hookspecs import hookimpl


@hookimpl
def flowrun_commands() -> dict[str, tuple[str, Any]]:
    return {
        "history": ("past runs, newest first", "flowrun.cli.history:make_history_command"),
        "show": ("one run: every task's status, attempts and times",
                 "flowrun.cli.show:make_show_command"),
        "logs": ("captured output of a run or one task", "flowrun.cli.logs:make_logs_command"),
        "graph": ("the flow's graph: text, dot, mermaid, json, svg",
                  "flowrun.cli.graph:make_graph_command"),
        "explain": ("what the next run would run, reuse or skip, and why",
                    "flowrun.cli.explain:make_explain_command"),
        "forget": ("drop recorded fingerprints: the next run recomputes those tasks",
                   "flowrun.cli.forget:make_forget_command"),
        "accept": ("record a cached task's current inputs as fresh (a cosmetic edit)",
                   "flowrun.cli.accept:make_accept_command"),
        "catalog": ("every collected flow as JSON (for tools)",
                    "flowrun.cli.catalog:make_catalog_command"),
        "schema": ("the JSON Schema of a JSON output (no NAME: list them)",
                   "flowrun.cli.schema:make_schema_command"),
    }
