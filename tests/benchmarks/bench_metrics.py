"""``flowrun metrics`` over a big store: 10,000 runs and 1,000,000 task rows (mapped
instances included, so the task histogram folds them into one task).

    python tests/benchmarks/bench_metrics.py [--runs 10000] [--rows 1000000]
    python tests/benchmarks/bench_metrics.py --smoke   # tiny sizes: does it still run?

Prints the in-process time of the aggregates and the text (median of 5), and the whole
``flowrun metrics`` process (median of 3). Asserts nothing.
"""
from __future__ import annotations

import argparse
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from flowrun.model import FAILED, SUCCEEDED, Report, Run
from flowrun.plugin.metrics import render_metrics
from flowrun.storage.sqlite import SqliteStorage


def fill(root: Path, runs: int, rows: int) -> SqliteStorage:
    """Runs and attempts written through flowrun's own store."""
    (root / ".flowrun").mkdir(parents=True, exist_ok=True)
    store = SqliteStorage(str(root / ".flowrun" / "flowrun.db"))
    per_run, now = max(rows // runs, 1), time.time() - runs * 10
    for n in range(runs):
        flow, started = f"flows/flow_{n % 20}.py", now + n * 10
        status = FAILED if n % 7 == 0 else SUCCEEDED
        run = Run(secrets.token_hex(6), flow, started=started, pid=1, host="bench")
        store.run_started(run)
        for t in range(per_run):
            # mapped instances, and 5 tasks of 10 attempts each: one row per attempt
            name, attempt = (f"each[{t}]", 1) if t % 2 else (f"t{t % 10}", t // 10 + 1)
            store.record(Report(run.id, flow, f"{flow}::{name}", status, attempt, started,
                                started + t * 0.001, started + t * 0.001 + t % 5 * 0.3))
        run.status, run.finished, run.counts = status, started + 5, {status: per_run}
        store.run_finished(run)
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.runs, args.rows = 20, 400
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "flowrun.toml").write_text("")
        began = time.perf_counter()
        store = fill(root, args.runs, args.rows)
        total = store.conn.execute("SELECT COUNT(*) FROM attempts").fetchone()[0]
        print(f"store: {args.runs} runs, {total} task rows "
              f"(filled in {time.perf_counter() - began:.1f} s)")
        spent = []
        for _ in range(5):
            start = time.perf_counter()
            text = render_metrics(store)
            spent.append(time.perf_counter() - start)
        print(f"render_metrics in process: {statistics.median(spent) * 1000:.0f} ms "
              f"(median of 5), {len(text) // 1024} KiB of text")
        store.close()
        spent = []
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "flowrun", "metrics"], cwd=root,
                           check=True, capture_output=True)
            spent.append(time.perf_counter() - start)
        print(f"flowrun metrics, whole process: {statistics.median(spent) * 1000:.0f} ms "
              "(median of 3)")


if __name__ == "__main__":
    main()
