"""``flowrun ui`` over a big store: 10,000 runs and 1,000,000 task rows.

    python tests/benchmarks/bench_ui.py [--runs 10000] [--rows 1000000]
    python tests/benchmarks/bench_ui.py --smoke   # tiny sizes: does it still run?

Measures (medians of 20 after one warm-up): ``GET /api/v1/runs?limit=50``, the runs page,
a 500-task run page; the server's time to its first answer and its resident memory;
and how long after a task finished in another process its event reached an open
``/events`` stream. Not part of the test suite: it prints figures, it asserts nothing.
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

import httpx

from flowrun.model import SUCCEEDED, Report, Run
from flowrun.storage.sqlite import SqliteStorage

BIG = 500  # tasks of the run whose page is measured


def big_flow() -> str:
    """500 tasks: 10 chains of 50."""
    lines = ["from flowrun import task", ""]
    for i in range(BIG):
        arg = f"t{i - 10}" if i >= 10 else ""
        lines += ["@task", f"def t{i}({arg}):", "    return 1", ""]
    return "\n".join(lines)


def fill(root: Path, runs: int, rows: int) -> str:
    """Runs and attempts written through flowrun's own store (``SqliteStorage``: the
    columns and statements its runs use), so a schema change cannot break this."""
    subprocess.run([sys.executable, "-m", "flowrun", "-q", "flows/flow_tiny.py"], cwd=root,
                   check=True, capture_output=True)
    store = SqliteStorage(str(root / ".flowrun" / "flowrun.db"))
    per_run = max(rows // runs, 1)
    now, big_id = time.time() - runs * 10, ""
    for n in range(runs):
        started = now + n * 10
        big = n == runs // 2
        flow = "flows/flow_big.py" if big else f"flows/flow_{n % 20}.py"
        count = BIG if big else per_run
        run = Run(secrets.token_hex(6), flow, started=started, pid=1, host="bench")
        big_id = run.id if big else big_id
        store.run_started(run)
        for t in range(count):
            store.record(Report(run.id, flow, f"{flow}::t{t}", SUCCEEDED, 1, started,
                                started + t * 0.001, started + t * 0.001 + 0.5))
        run.status, run.finished, run.counts = SUCCEEDED, started + 5, {SUCCEEDED: count}
        store.run_finished(run)
    total = store.conn.execute("SELECT COUNT(*) FROM attempts").fetchone()[0]
    print(f"store: {len(store.list_runs())} runs, {total} task rows")
    store.close()
    return big_id


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("-r", "--repeat", type=int, default=20, help="requests per page")
    parser.add_argument("--events", type=int, default=5, help="runs whose event is timed")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, one of each: does the benchmark still run?")
    args = parser.parse_args()
    if args.smoke:
        args.runs, args.rows, args.repeat, args.events = 20, 200, 1, 1
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "flowrun.toml").write_text("")
        (root / "flows").mkdir()
        (root / "flows" / "flow_tiny.py").write_text(
            "from flowrun import task\n@task\ndef t():\n    return 1\n")
        (root / "flows" / "flow_big.py").write_text(big_flow())
        began = time.perf_counter()
        big = fill(root, args.runs, args.rows)
        print(f"filled in {time.perf_counter() - began:.1f}s")
        proc, url, ready = start(root)
        try:
            print(f"flowrun ui ready to answer in {ready * 1000:.0f} ms, "
                  f"{rss_mb(proc.pid):.0f} MB resident")
            with httpx.Client(base_url=url, timeout=60) as client:
                for label, path in (("GET /api/v1/runs?limit=50", "/api/v1/runs?limit=50"),
                                    ("runs page /", "/"),
                                    (f"{BIG}-task run page", f"/runs/{big}"),
                                    (f"GET /api/v1/runs/{{{BIG}-task run}}", f"/api/v1/runs/{big}")):
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
