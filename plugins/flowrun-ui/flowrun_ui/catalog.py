"""The project's flows, from ``flowrun catalog`` in a subprocess (the server never imports
flow code), cached until a file under the flow paths or a config file changes, or a
minute passes (next due times and time partitions move on)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from typing import Any

from flowrun.plugin import UsageError

MAX_AGE = 60.0
SKIP = {"__pycache__", "node_modules", "venv", "site-packages", "build", "dist"}
CONFIG_FILES = ("pyproject.toml", "flowrun.toml", "flowconf.py")


class Catalog:
    def __init__(self, state: Any) -> None:
        self.state = state
        self._lock = threading.Lock()
        self._key: Any = None
        self._flows: list[dict[str, Any]] = []
        self._at = 0.0

    def flows(self) -> list[dict[str, Any]]:
        """Every flow row (``error`` set for a file that failed to collect)."""
        key = self._signature()
        with self._lock:
            if key != self._key or time.monotonic() - self._at > MAX_AGE:
                self._flows = json.loads(run_flowrun(self.state, ["catalog"]))
                self._key, self._at = key, time.monotonic()
            return self._flows

    def get(self, flow_id: str) -> dict[str, Any] | None:
        return next((f for f in self.flows() if f["id"] == flow_id), None)

    def backfill_keys(self, flow_id: str, start: str, end: str) -> list[str]:
        """The keys ``--backfill START..END`` covers (``UsageError`` for a bad range)."""
        return json.loads(run_flowrun(self.state, ["catalog", flow_id, "--keys",
                                                   f"{start}..{end}"]))

    def _signature(self) -> tuple:
        root = self.state.rootdir
        found = [_stat(os.path.join(root, name)) for name in CONFIG_FILES]
        for top in self.state.config.flowpaths:
            for folder, dirs, files in os.walk(os.path.join(root, top)):
                dirs[:] = [d for d in dirs if d not in SKIP and not d.startswith(".")]
                found += [_stat(os.path.join(folder, name)) for name in files]
        return tuple(found)


def run_flowrun(state: Any, args: list[str], timeout: float = 60) -> str:
    """``flowrun ARGS`` in the rootdir; its stdout, or ``UsageError`` with its message."""
    done = subprocess.run([sys.executable, "-m", "flowrun", *args], cwd=state.rootdir,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "FLOWRUN_STORE": state.store_url})
    if done.returncode != 0:
        lines = [ln for ln in done.stderr.splitlines() if ln.strip()] or ["failed"]
        raise UsageError(lines[-1].removeprefix("ERROR: "))
    return done.stdout


def _stat(path: str) -> tuple[str, int, int]:
    try:
        info = os.stat(path)
    except OSError:
        return (path, 0, 0)
    return (path, info.st_mtime_ns, info.st_size)
