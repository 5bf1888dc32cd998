"""``submit()`` on the process executor: what a child costs, next to a plain process task
and a plain ``ProcessPoolExecutor`` submit in the same process, through the real engine
and SQLite store. Prints, asserts nothing (quote medians, compare ratios).

    python tests/benchmarks/bench_children.py            # 500 tasks, 3 rounds
    python tests/benchmarks/bench_children.py 2000 -r 5
    python tests/benchmarks/bench_children.py --smoke     # 20 tasks, once

A child is a plain task plus a request from the worker and an answer back, so the
target is at most 2x a plain task.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, wait

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_executors import flow_of, run_flow  # noqa: E402 - beside this file

from flowrun.executors.process import ProcessExecutor  # noqa: E402
from flowrun.model import Flow, Task, TaskOptions  # noqa: E402
from flowrun.plugins import make_plugin_manager  # noqa: E402

COUNT = {"n": 500}


def noop(*args, **kwargs):
    """Defined here, in ``__main__``: workers get it by value, as they get flow code."""
    return None


def parent() -> int:
    """Submit every child first (they run in parallel), then wait for them all."""
    from flowrun import submit

    futures = [submit(noop, i) for i in range(COUNT["n"])]
    return sum(1 for f in futures if f.result() is None)


def parent_flow(n: int) -> Flow:
    COUNT["n"] = n
    flow = Flow()
    flow.id = flow.path = "bench/flow_children.py"
    flow.tasks = {"parent": Task(flow.id, "parent", parent, TaskOptions())}
    return flow


def pool_baseline(n: int) -> float:
    with ProcessPoolExecutor(2) as pool:
        wait([pool.submit(noop) for _ in range(8)])  # warm
        start = time.perf_counter()
        wait([pool.submit(noop, i) for i in range(n)])
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", nargs="?", type=int, default=500)
    parser.add_argument("-r", "--repeat", type=int, default=3)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, one round: does the benchmark still run?")
    args = parser.parse_args()
    if args.smoke:
        args.n, args.repeat = 20, 1
    n = args.n
    with tempfile.TemporaryDirectory() as store_dir:
        hook = make_plugin_manager(["no:terminal"], store_dir).hook
        executor = ProcessExecutor(2, store_dir)
        run_flow(executor, flow_of(noop, 4), hook, store_dir, 2)  # workers started
        plain, children, pool = [], [], []
        for _ in range(args.repeat):
            pool.append(pool_baseline(n) / n)
            plain.append(run_flow(executor, flow_of(noop, n), hook, store_dir, 2) / n)
            # the parent holds one worker while it waits: its slot is lent, so the
            # children get two workers, like the plain tasks
            children.append(run_flow(executor, parent_flow(n), hook, store_dir, 2) / n)
        executor.shutdown()
    us = [statistics.median(x) * 1e6 for x in (pool, plain, children)]
    print(f"{n} no-op tasks, process executor (2 workers), median of {args.repeat}:")
    print(f"  ProcessPoolExecutor(2) submit   {us[0]:8.0f} µs/task")
    print(f"  flowrun plain process task      {us[1]:8.0f} µs/task  ({us[1] / us[0]:.2f}x pool)")
    print(f"  flowrun submit() child          {us[2]:8.0f} µs/child ({us[2] / us[1]:.2f}x "
          f"a plain task; target <= 2x)")


if __name__ == "__main__":
    main()
