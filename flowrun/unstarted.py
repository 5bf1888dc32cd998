"""Runs that fail before their first task: a bad ``--param``, a flow that no longer
collects on ``--resume``. Each is still recorded, ``failed`` with its error, so
``history``, ``show`` and the UI list it (API section 5)."""
from __future__ import annotations

import os
import time
from typing import Any, Iterable, Iterator

from flowrun.model import FAILED, Run


def record_unstarted(storage: Any, flow_ids: Iterable[str], error: str,
                     params: dict[str, Any], run_ids: Iterator[str] | None = None,
                     resumed_from: str | None = None) -> list[Run]:
    """Record one finished, ``failed`` run per flow, each holding ``error``; ``run_ids``
    gives the ids chosen up front (``FLOWRUN_RUN_ID``), in order, while it lasts."""
    runs = []
    for flow_id in flow_ids:
        now = time.time()
        run = Run(id=next(run_ids, None) if run_ids is not None else None,  # type: ignore[arg-type]
                  flow_id=flow_id, status=FAILED, started=now, finished=now,
                  params=dict(params), resumed_from=resumed_from, error=error)
        run.id = run.id or os.urandom(6).hex()
        storage.run_started(run)
        storage.run_finished(run)
        runs.append(run)
    return runs
