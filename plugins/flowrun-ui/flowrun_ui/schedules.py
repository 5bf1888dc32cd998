"""Every scheduled flow, paused or not, with its next fire times and what became of its
last slots, from ``flowrun schedule --json`` in a subprocess (the server never imports
flow code, and the clock is the one ``--due`` uses: ``FLOWRUN_NOW`` where set); pause
and unpause through ``flowrun schedule pause|resume FLOW``, kept in the store."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from flowrun.plugin import PauseStore, UsageError

from flowrun_ui import actions
from flowrun_ui.catalog import run_flowrun

TIMEOUT = 60


def schedules(state: Any) -> list[dict[str, Any]]:
    """One row per scheduled flow (a flow file that fails to collect is left out: the
    flows page shows its error)."""
    done = subprocess.run([sys.executable, "-m", "flowrun", "schedule", "--json"],
                          cwd=state.rootdir, capture_output=True, text=True,
                          timeout=TIMEOUT, env={**os.environ, "FLOWRUN_STORE": state.store_url})
    try:
        rows = json.loads(done.stdout)
    except ValueError:
        lines = [ln for ln in done.stderr.splitlines() if ln.strip()] or ["no answer"]
        raise actions.ApiError(409, "flowrun schedule: "
                               + lines[-1].removeprefix("ERROR: ")) from None
    return [_row(row) for row in rows]


def _row(row: dict[str, Any]) -> dict[str, Any]:
    return {"flow_id": row["flow"], "schedule": row["schedule"], "timezone": row["timezone"],
            "catchup": row["catchup"], "overlap": row["overlap"],
            "paused": bool(row.get("paused")), "paused_since": row.get("paused_since"),
            "next": row.get("next_times", []), "slots": row.get("slots", [])}


def set_paused(state: Any, flow_id: str, paused: bool) -> dict[str, Any]:
    flow = actions.get_flow(state, flow_id)
    if not flow.get("schedule"):
        raise actions.ApiError(409, f"{flow_id} has no schedule: nothing to pause")
    try:
        run_flowrun(state, ["schedule", "pause" if paused else "resume", flow_id])
    except UsageError as exc:
        raise actions.ApiError(409, str(exc)) from None
    return {"flow_id": flow_id, "paused": paused}


def paused(state: Any) -> dict[str, float]:
    """Paused flow id -> since when, from the store (none if it cannot pause)."""
    store = state.store
    return store.paused_flows() if isinstance(store, PauseStore) else {}
