"""``flowrun ui`` over a big store: 10,000 runs and 1,000,000 task rows.

    python tests/benchmarks/bench_ui.py [--runs 10000] [--rows 1000000]
    python tests/benchmarks/bench_ui.py --smoke   # tiny sizes: does it still run?

Measures (medians of 20 after one warm-up): ``GET /api/v1/runs?limit=50``, the runs page,
a 10,000-task run page, a flow's grid of 50 runs × 200 tasks, a search of every stored
log (every task row has a line of output: 1M lines), the tail of a 50 MB log; the
server's time to its first answer and its resident memory; and how long after a task
finished in another process its event reached an open ``/events`` stream. Not part of
the test suite: it prints figures, it asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from flowrun.model import SUCCEEDED, Report, Run
from flowrun.storage.sqlite import SqliteStorage

GRID_RUNS, GRID_TASKS = 50, 200  # the flow grid measured
HUGE_LOG = 50 * 2**20  # characters of the log whose tail is measured
NEEDLE = "warehouse unreachable"


def chains(tasks: int) -> str:
    """``tasks`` tasks: 10 chains."""
    lines = ["from flowrun import task", ""]
    for i in range(tasks):
        arg = f"t{i - 10}" if i >= 10 else ""
        lines += ["@task", f"def t{i}({arg}):", "    return 1", ""]
    return "\n".join(lines)


def _write_run(store: SqliteStorage, flow: str, started: float, count: int,
               stdout: Any = None) -> str:
    run = Run(secrets.token_hex(6), flow, started=started, pid=1, host="bench")
    store.run_started(run)
    for t in range(count):
        out = stdout(t) if stdout else f"row {t} of {run.id}: loaded 120 orders\n"
        store.record(Report(run.id, flow, f"{flow}::t{t}", SUCCEEDED, 1, started,
                            started + t * 0.001, started + t * 0.001 + 0.5, stdout=out))
    run.status, run.finished, run.counts = SUCCEEDED, started + 5, {SUCCEEDED: count}
    store.run_finished(run)
    return run.id


def fill(root: Path, runs: int, rows: int, big: int) -> dict[str, str]:
    """Runs and attempts written through flowrun's own store (``SqliteStorage``: the
    columns and statements its runs use), so a schema change cannot break this. Every
    task row has a line of output; a few hold ``NEEDLE``."""
    subprocess.run([sys.executable, "-m", "flowrun", "-q", "flows/flow_tiny.py"], cwd=root,
                   check=True, capture_output=True)
    store = SqliteStorage(str(root / ".flowrun" / "flowrun.db"))
    per_run = max(rows // runs, 1)
    now, ids = time.time() - runs * 10, {}
    for n in range(runs):
        started = now + n * 10
        if n == runs // 2:
            ids["big"] = _write_run(store, "flows/flow_big.py", started, big)
        elif n >= runs - GRID_RUNS:
            ids["grid"] = _write_run(store, "flows/flow_grid.py", started, GRID_TASKS)
        elif n % 997 == 0:
            ids["needle"] = _write_run(store, f"flows/flow_{n % 20}.py", started, per_run,
                                       lambda t: f"ERROR {NEEDLE} at row {t}\n")
        else:
            _write_run(store, f"flows/flow_{n % 20}.py", started, per_run)
    line = "INFO shop: loaded 120 orders from the warehouse, all fine\n"
    ids["huge"] = _write_run(store, "flows/flow_tiny.py", now - 10, 1,
                             lambda t: line * (HUGE_LOG // len(line)))
    total = store.conn.execute("SELECT COUNT(*) FROM attempts").fetchone()[0]
    print(f"store: {len(store.list_runs())} runs, {total} task rows")
    store.close()
    return ids


def median_ms(client: httpx.Client, path: str, times: int = 20) -> float:
    client.get(path).raise_for_status()  # warm-up (the flow listing's first subprocess)
    spent = []
    for _ in range(times):
        start = time.perf_counter()
        client.get(path).raise_for_status()
        spent.append(time.perf_counter() - start)
    return statistics.median(spent) * 1000


def start(root: Path) -> tuple[subprocess.Popen, str, float]:
    began = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "flowrun", "ui", "--port", "0"], cwd=root,
                            stdout=subprocess.PIPE, text=True)
    url = proc.stdout.readline().rsplit(" at ", 1)[1].strip()
    while True:
        try:
            httpx.get(url + "api/v1/runs?limit=1").raise_for_status()
            break
        except httpx.TransportError:
            time.sleep(0.01)
    return proc, url, time.perf_counter() - began


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def event_latency(root: Path, url: str, tries: int = 5) -> list[float]:
    """Seconds from a task's recorded end (in another process) to its event here."""
    delays: list[float] = []

    def listen() -> None:
        try:
            _listen()
        except httpx.HTTPError:
            pass  # the server stopped

    def _listen() -> None:
        with httpx.stream("GET", url + "events", timeout=None) as response:
            kind = None
            for line in response.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind == "task":
                    data = json.loads(line[6:])
                    if data["status"] == "succeeded" and data["task_id"].endswith("::t"):
                        delays.append(time.time() - _stamp(data["ended"]))

    threading.Thread(target=listen, daemon=True).start()
    time.sleep(0.5)
    for _ in range(tries):
        subprocess.run([sys.executable, "-m", "flowrun", "-q", "flows/flow_tiny.py"],
                       cwd=root, check=True, capture_output=True)
        time.sleep(1.2)
    return delays


def _stamp(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text).timestamp()


def _measured(ids: dict[str, str], big: int) -> list[tuple[str, str]]:
    grid = "flows%2Fflow_grid.py"
    return [("GET /api/v1/runs?limit=50", "/api/v1/runs?limit=50"),
            ("runs page /", "/"),
            (f"{big}-task run page", f"/runs/{ids['big']}"),
            (f"GET /api/v1/runs/{{{big}-task run}}", f"/api/v1/runs/{ids['big']}"),
            (f"GET /api/v1/flows/{{flow}}/grid?limit={GRID_RUNS} ({GRID_TASKS} tasks)",
             f"/api/v1/flows/{grid}/grid?limit={GRID_RUNS}"),
            ("the flow page with its grid", f"/flows/{grid}"),
            ("GET /api/v1/search (every stored log line)", f"/api/v1/search?q={NEEDLE}"),
            ("the tail of a 50 MB log (GET .../logs?tail=200)",
             f"/api/v1/runs/{ids['huge']}/logs?task=flows/flow_tiny.py::t0&tail=200")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("-r", "--repeat", type=int, default=20, help="requests per page")
    parser.add_argument("--events", type=int, default=5, help="runs whose event is timed")
    parser.add_argument("--big", type=int, default=10_000, help="tasks of the run page")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, one of each: does the benchmark still run?")
    args = parser.parse_args()
    if args.smoke:
        args.runs, args.rows, args.repeat, args.events, args.big = 120, 1200, 1, 1, 50
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "flowrun.toml").write_text("")
        (root / "flows").mkdir()
        (root / "flows" / "flow_tiny.py").write_text(
            "from flowrun import task\n@task\ndef t():\n    return 1\n")
        (root / "flows" / "flow_big.py").write_text(chains(args.big))
        (root / "flows" / "flow_grid.py").write_text(chains(GRID_TASKS))
        began = time.perf_counter()
        ids = fill(root, args.runs, args.rows, args.big)
        print(f"filled in {time.perf_counter() - began:.1f}s")
        proc, url, ready = start(root)
        try:
            print(f"flowrun ui ready to answer in {ready * 1000:.0f} ms, "
                  f"{rss_mb(proc.pid):.0f} MB resident")
            with httpx.Client(base_url=url, timeout=600) as client:
                began = time.perf_counter()
                client.get("/api/v1/search", params={"q": NEEDLE}).raise_for_status()
                print(f"first search (builds the full-text index): "
                      f"{(time.perf_counter() - began) * 1000:.0f} ms")
                for label, path in _measured(ids, args.big):
                    print(f"{label}: median {median_ms(client, path, args.repeat):.1f} ms "
                          f"(of {args.repeat})")
            print(f"resident after the requests: {rss_mb(proc.pid):.0f} MB")
            delays = event_latency(root, url, args.events)
            print("task event latency (s): " + ", ".join(f"{d:.3f}" for d in delays)
                  + (f"; median {statistics.median(delays):.3f}" if delays else ""))
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    os.environ.pop("FLOWRUN_STORE", None)
    main()
