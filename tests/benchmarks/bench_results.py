"""What submit() children and stored results cost, next to plain concurrent.futures in
the same process. Prints figures; asserts nothing.

    python tests/benchmarks/bench_results.py
"""
from __future__ import annotations

import os
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, wait

from bench_engine import WORKERS, run_engine, run_flow_once

from flowrun import submit
from flowrun.model import Flow, Task, TaskOptions
from flowrun.plugins import make_plugin_manager

CHILDREN = 10_000
BIG = 5 * 2**20


def noop(*args):
    return None


def parent():
    futures = [submit(noop) for _ in range(CHILDREN)]
    for future in futures:
        future.result()


def run_flow(tasks: dict, hook, store_dir: str) -> float:
    flow = Flow()
    flow.id = flow.path = "bench/flow_x.py"
    flow.tasks = tasks
    return run_flow_once(flow, hook, store_dir)


def bare_submit() -> float:
    start = time.perf_counter()
    with ThreadPoolExecutor(WORKERS) as pool:
        def inner():
            wait([pool.submit(noop) for _ in range(CHILDREN)])
        pool.submit(inner).result()
    return time.perf_counter() - start


def big_pair(size: int):
    def make():
        return os.urandom(size) if size else None

    def use(make):
        return len(make or b"")
    return {"make": Task("bench/flow_x.py", "make", make, TaskOptions()),
            "use": Task("bench/flow_x.py", "use", use, TaskOptions(), inputs={"make": "make"},
                        upstream=("make",))}


def small_result_fanout(n: int, hook, store_dir: str, result: bool) -> float:
    def small(up=None):
        return {"rows": 12, "name": "ok"} if result else None
    tasks = {"t0": Task("bench/flow_x.py", "t0", small, TaskOptions())}
    for i in range(1, n):
        tasks[f"t{i}"] = Task("bench/flow_x.py", f"t{i}", small, TaskOptions(),
                              inputs={"up": "t0"}, upstream=("t0",))
    return run_flow(tasks, hook, store_dir)


def main() -> None:
    store_dir = tempfile.mkdtemp(prefix="flowrun-bench-")
    hook = make_plugin_manager(["no:terminal"], store_dir).hook
    run_engine("fanout", 100, hook, store_dir)  # warm up
    tasks = {"parent": Task("bench/flow_x.py", "parent", parent, TaskOptions())}
    ours = statistics.median(run_flow(tasks, hook, store_dir) for _ in range(3))
    bare = statistics.median(bare_submit() for _ in range(3))
    print(f"submit: {CHILDREN} children from one parent: {ours * 1e6 / CHILDREN:.1f} µs/child "
          f"(bare pool {bare * 1e6 / CHILDREN:.1f} µs, ratio {ours / bare:.2f})")
    pairs = [(small_result_fanout(10_000, hook, store_dir, False),  # interleaved, so
              small_result_fanout(10_000, hook, store_dir, True))   # drift hits both
             for _ in range(5)]
    none = statistics.median(p[0] for p in pairs)
    small = statistics.median(p[1] for p in pairs)
    print(f"10k fan-out returning None: {none * 100:.1f} µs/task; returning a small dict: "
          f"{small * 100:.1f} µs/task ({(small / none - 1) * 100:+.0f}%)")
    empty = statistics.median(run_flow(big_pair(0), hook, store_dir) for _ in range(3))
    big = statistics.median(run_flow(big_pair(BIG), hook, store_dir) for _ in range(3))
    start = time.perf_counter()
    os.urandom(BIG)
    making = time.perf_counter() - start
    print(f"5 MB result passed between two tasks: {(big - empty - making) * 1000:.0f} ms of "
          f"overhead ({big * 1000:.0f} ms run, {empty * 1000:.0f} ms with no result, "
          f"{making * 1000:.0f} ms making the bytes)")


if __name__ == "__main__":
    main()
