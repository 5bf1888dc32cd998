"""Per-task overhead of the engine (thread executor, every state change kept in SQLite)
next to a bare ``concurrent.futures.ThreadPoolExecutor`` running the same DAG wired by
hand, in the same process. Prints µs/task and the ratio; asserts nothing.

    python tests/benchmarks/bench_engine.py            # N = 100, 1k, 10k, 100k
    python tests/benchmarks/bench_engine.py 10000 -r 5 # one size, median of 5
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor, wait

from flowrun.config import Config
from flowrun.engine.loop import Engine
from flowrun.executors.thread import ThreadExecutor
from flowrun.model import Flow, RunRequest, Task, TaskOptions
from flowrun.plugins import make_plugin_manager
from flowrun.storage.sqlite import SqliteStorage

WORKERS = 8


def noop(*args, **kwargs):
    return None


def build(shape: str, n: int) -> Flow:
    """A flow of ``n`` no-op tasks: a root and n-1 children (fan-out), or a chain."""
    flow = Flow()
    flow.id = flow.path = f"bench/flow_{shape}.py"
    tasks = {"t0": Task(flow.id, "t0", noop, TaskOptions())}
    for i in range(1, n):
        up = "t0" if shape == "fanout" else f"t{i - 1}"
        tasks[f"t{i}"] = Task(flow.id, f"t{i}", noop, TaskOptions(), inputs={"up": up},
                              upstream=(up,))
    flow.tasks = tasks
    return flow


def run_engine(shape: str, n: int, hook, store_dir: str) -> float:
    return run_flow_once(build(shape, n), hook, store_dir)


def run_flow_once(flow: Flow, hook, store_dir: str) -> float:
    """Seconds to run ``flow`` through the engine with a fresh SQLite store."""
    storage = SqliteStorage(os.path.join(store_dir, f"{time.time_ns()}.db"))
    executor = ThreadExecutor()
    engine = Engine(hook=hook, storage=storage, executor_for=lambda name: executor,
                    default_executor="thread", workers=WORKERS, limits={})
    start = time.perf_counter()
    runs = engine.run([RunRequest(flow)])
    storage.close()
    elapsed = time.perf_counter() - start
    executor.shutdown()
    assert runs[0].status == "succeeded", runs[0]
    return elapsed


def run_bare(shape: str, n: int) -> float:
    """The floor: a thread pool, the DAG wired by hand with done-callbacks."""
    start = time.perf_counter()
    with ThreadPoolExecutor(WORKERS) as pool:
        if shape == "fanout":
            pool.submit(noop).result()
            wait([pool.submit(noop, None) for _ in range(n - 1)])
        else:
            finished = threading.Event()

            def step(i: int, future=None) -> None:
                if i == n:
                    finished.set()
                    return
                pool.submit(noop, None).add_done_callback(lambda f: step(i + 1, f))
            step(0)
            finished.wait()
    return time.perf_counter() - start


def measure(shape: str, n: int, repeat: int, hook, store_dir: str) -> tuple[float, float]:
    engine = statistics.median(run_engine(shape, n, hook, store_dir) for _ in range(repeat))
    bare = statistics.median(run_bare(shape, n) for _ in range(repeat))
    return engine * 1e6 / n, bare * 1e6 / n


def peak_memory(n: int, hook, store_dir: str) -> float:
    tracemalloc.start()
    run_engine("fanout", n, hook, store_dir)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sizes", nargs="*", type=int, default=[100, 1000, 10_000, 100_000])
    parser.add_argument("-r", "--repeat", type=int, default=3)
    parser.add_argument("--memory", action="store_true", help="also trace peak memory")
    args = parser.parse_args()
    store_dir = tempfile.mkdtemp(prefix="flowrun-bench-")
    hook = make_plugin_manager(["no:terminal"], store_dir).hook
    Config(store_dir, None, {}, {})  # imports what a session imports, outside the timing
    print(f"{'shape':<8}{'N':>8}{'flowrun µs/task':>18}{'bare pool µs/task':>20}{'ratio':>8}")
    for shape in ("fanout", "chain"):
        for n in args.sizes:
            repeat = 1 if n >= 100_000 else args.repeat
            ours, bare = measure(shape, n, repeat, hook, store_dir)
            print(f"{shape:<8}{n:>8}{ours:>18.1f}{bare:>20.1f}{ours / bare:>8.2f}", flush=True)
    if args.memory:
        print(f"peak traced memory, 100k fan-out: {peak_memory(100_000, hook, store_dir):.0f} MB")


if __name__ == "__main__":
    main()
