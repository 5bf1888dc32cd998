"""The dask executor (plugins/flowrun-dask) through the real engine and SQLite store on a
2-worker LocalCluster, next to plain ``client.submit`` of the same no-op functions on the
same cluster, in the same process. Prints, asserts nothing.

    python tests/benchmarks/bench_dask.py             # 1,000-task fan-out, median of 3
    python tests/benchmarks/bench_dask.py -n 5000 -r 5
    python tests/benchmarks/bench_dask.py --smoke     # 20 tasks, once

1. fan-out: N independent no-op tasks, ms per task and flowrun's overhead per task;
2. by reference: one task makes a 8 MB result, N/10 tasks each take it (through the
   cluster, never through this process), against the same graph with plain futures.
"""
from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from distributed import Client, LocalCluster
from flowrun_dask.executor import DaskExecutor

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_executors import flow_of, noop, run_flow  # noqa: E402

from flowrun.model import Flow, Task, TaskOptions  # noqa: E402
from flowrun.plugins import make_plugin_manager  # noqa: E402


def big() -> bytes:
    return b"x" * 8_000_000


def size(data: bytes) -> int:
    return len(data)


def shared_input_flow(n: int) -> Flow:
    flow = Flow()
    flow.id = flow.path = "bench/flow_ref.py"
    flow.tasks = {"big": Task(flow.id, "big", big, TaskOptions())}
    for i in range(n):
        flow.tasks[f"t{i}"] = Task(flow.id, f"t{i}", size, TaskOptions(),
                                   inputs={"data": "big"}, upstream=("big",))
    return flow


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-r", "--repeat", type=int, default=3)
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, one round: does the benchmark still run?")
    args = parser.parse_args()
    if args.smoke:
        args.n, args.repeat = 20, 1
    store_dir = tempfile.mkdtemp(prefix="flowrun-bench-dask-")
    hook = make_plugin_manager(["no:terminal"], store_dir).hook
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=logging.ERROR) as cluster:
        executor = DaskExecutor(os.getcwd(), cluster.scheduler_address,
                                {"timeout": 10})
        client = Client(cluster, set_as_default=False)
        run_flow(executor, flow_of(noop, 10), hook, store_dir, 8)  # warm both paths
        client.gather([client.submit(noop, pure=False) for _ in range(10)])
        ours, bare = [], []
        for _ in range(args.repeat):
            ours.append(run_flow(executor, flow_of(noop, args.n), hook, store_dir, 64))
            start = time.perf_counter()
            client.gather([client.submit(noop, pure=False) for _ in range(args.n)])
            bare.append(time.perf_counter() - start)
        ms, base = (statistics.median(x) * 1e3 / args.n for x in (ours, bare))
        print(f"{args.n}-task no-op fan-out on a 2-worker LocalCluster: flowrun "
              f"{ms:.2f} ms/task, plain client.submit {base:.2f} ms/task; overhead "
              f"{ms - base:.2f} ms/task, ratio {ms / base:.2f}")
        m = max(1, args.n // 10)
        ours, bare = [], []
        for _ in range(args.repeat):
            ours.append(run_flow(executor, shared_input_flow(m), hook, store_dir, 64))
            start = time.perf_counter()
            made = client.submit(big, pure=False)
            client.gather([client.submit(size, made, pure=False) for _ in range(m)])
            bare.append(time.perf_counter() - start)
            del made
        print(f"one 8 MB result taken by {m} tasks: flowrun {statistics.median(ours):.2f}s, "
              f"plain futures {statistics.median(bare):.2f}s")
        executor.shutdown()
        client.close()


if __name__ == "__main__":
    main()
