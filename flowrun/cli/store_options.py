"""What the store commands share: the ``--store`` and ``--json`` options, opening the
store, and plain-text tables and times."""
from __future__ import annotations

import time
from typing import Any

import click


def store_option(fn: Any) -> Any:
    return click.option("--store", metavar="URL", help="Where runs are kept.")(fn)


def json_option(fn: Any) -> Any:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(fn)


def open_store(factory: Any, store: str | None) -> Any:
    """The command's store, closed when the command ends (a shared store's connections
    and threads too, also when the command runs inside a test process)."""
    from flowrun.config import open_storage

    storage = open_storage(factory.make({"store": store}))
    click.get_current_context().call_on_close(storage.close)
    return storage


def table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


def when(stamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp)) if stamp else "-"


def clock(stamp: float | None) -> str:
    if not stamp:
        return "-"
    return time.strftime("%H:%M:%S", time.localtime(stamp)) + f".{int(stamp % 1 * 1000):03d}"
