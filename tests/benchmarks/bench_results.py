"""What submit() children and stored results cost, next to plain concurrent.futures in
the same process. Prints figures; asserts nothing.

    python tests/benchmarks/bench_results.py
    python tests/benchmarks/bench_results.py --smoke   # tiny sizes, once
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, wait

from bench_engine import WORKERS, run_engine, run_flow_once

from flowrun import submit
from flowrun.model import Flow, Task, TaskOptions
from flowrun.plugins import make_plugin_manager

SIZES = {"children": 10_000, "fanout": 10_000, "big": 5 * 2**20, "rounds": 3}


def noop(*args):
    return None


def parent():
    futures = [submit(noop) for _ in range(SIZES["children"])]
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
            wait([pool.submit(noop) for _ in range(SIZES["children"])])
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, one round: does the benchmark still run?")
    if parser.parse_args().smoke:
        SIZES.update(children=50, fanout=50, big=2**17, rounds=1)
    store_dir = tempfile.mkdtemp(prefix="flowrun-bench-")
    hook = make_plugin_manager(["no:terminal"], store_dir).hook
    run_engine("fanout", 100, hook, store_dir)  # warm up
    children(hook, store_dir)
    fanout(hook, store_dir)
    big_result(hook, store_dir)


def children(hook, store_dir: str) -> None:
    rounds, n = SIZES["rounds"], SIZES["children"]
    tasks = {"parent": Task("bench/flow_x.py", "parent", parent, TaskOptions())}
    ours = statistics.median(run_flow(tasks, hook, store_dir) for _ in range(rounds))
    bare = statistics.median(bare_submit() for _ in range(rounds))
    print(f"submit: {n} children from one parent: {ours * 1e6 / n:.1f} µs/child "
          f"(bare pool {bare * 1e6 / n:.1f} µs, ratio {ours / bare:.2f})")


def fanout(hook, store_dir: str) -> None:
    n = SIZES["fanout"]
    pairs = [(small_result_fanout(n, hook, store_dir, False),  # interleaved, so
              small_result_fanout(n, hook, store_dir, True))   # drift hits both
             for _ in range(max(SIZES["rounds"], 5 if n >= 10_000 else 1))]
    none = statistics.median(p[0] for p in pairs) * 1e6 / n
    small = statistics.median(p[1] for p in pairs) * 1e6 / n
    print(f"{n} fan-out returning None: {none:.1f} µs/task; returning a small dict: "
          f"{small:.1f} µs/task ({(small / none - 1) * 100:+.0f}%)")


def big_result(hook, store_dir: str) -> None:
    rounds, size = SIZES["rounds"], SIZES["big"]
    empty = statistics.median(run_flow(big_pair(0), hook, store_dir) for _ in range(rounds))
    big = statistics.median(run_flow(big_pair(size), hook, store_dir) for _ in range(rounds))
    start = time.perf_counter()
    os.urandom(size)
    making = time.perf_counter() - start
    print(f"{size / 2**20:g} MB result passed between two tasks: "
          f"{(big - empty - making) * 1000:.0f} ms of overhead ({big * 1000:.0f} ms run, "
          f"{empty * 1000:.0f} ms with no result, {making * 1000:.0f} ms making the bytes)")


if __name__ == "__main__":
    main()
