"""A warm ``flowrun`` process for watch mode (``python -m flowrun.watch.spare``).

It imports flowrun and what a run needs ahead of time, then waits for one cycle's
request on stdin (one JSON line: argv, files, previous, report) and runs it. User code
is imported only after the request came, so every cycle sees the files as they are.
"""
from __future__ import annotations

import json
import signal
import sys

#: What a run imports, loaded while the spare waits (not user code, not plugins).
WARM = ("click", "pluggy", "sqlite3", "flowrun.entry_points", "flowrun.cli.main",
        "flowrun.cli.run", "flowrun.config", "flowrun.plugins", "flowrun.session",
        "flowrun.engine.loop", "flowrun.collect.python", "flowrun.storage.sqlite",
        "flowrun.executors.thread", "flowrun.reporters.terminal", "flowrun.schedules.due",
        "flowrun.resume", "flowrun.collect.specs", "flowrun.executors.task_call", "flowrun.watch.cycle")


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # waiting: Ctrl-C is the watcher's
    import importlib

    for name in WARM:
        importlib.import_module(name)
    line = sys.stdin.readline()
    if not line.strip():
        return 0  # the watcher ended
    request = json.loads(line)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from flowrun.cli.main import run
    from flowrun.watch.cycle import WatchCycle

    cycle = WatchCycle(request["files"], request["previous"], request["report"])
    return run(request["argv"], plugins=[cycle], own_process=True)


if __name__ == "__main__":
    sys.exit(main())
