"""Per-task overhead of the engine (thread executor, every state change kept in SQLite)
next to a bare ``concurrent.futures.ThreadPoolExecutor`` running the same DAG wired by
hand, in the same process. Each round runs the engine, then the pool; printed are the
medians of µs/task and of the rounds' ratios (rounds share the machine's noise, so the
ratio is the figure to compare). Asserts nothing.

    python tests/benchmarks/bench_engine.py            # N = 100, 1k, 10k, 100k
    python tests/benchmarks/bench_engine.py 10000 -r 5 # one size, median of 5
    python tests/benchmarks/bench_engine.py 1000 10000 100000 1000000 --shape fanout --rss
        # the scale check: also each engine run alone in a fresh process, its max RSS
    python tests/benchmarks/bench_engine.py --smoke    # 100 tasks, once
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor, wait

from flowrun.config import Config
from flowrun.engine.loop import Engine
from flowrun.plugin.executor import Declared
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
    options = TaskOptions()  # frozen: tasks with the default options may share them
    tasks = {"t0": Task(flow.id, "t0", noop, options)}
    for i in range(1, n):
        up = "t0" if shape == "fanout" else f"t{i - 1}"
        tasks[f"t{i}"] = Task(flow.id, f"t{i}", noop, options, inputs={"up": up},
                              upstream=(up,))
    flow.tasks = tasks
    return flow


def run_engine(shape: str, n: int, hook, store_dir: str) -> float:
    return run_flow_once(build(shape, n), hook, store_dir)


def run_flow_once(flow: Flow, hook, store_dir: str, prepare=None, after=None) -> float:
    """Seconds to run ``flow`` through the engine with a fresh SQLite store
    (``prepare``: the engine's call preparers, e.g. tracing's; ``after(storage)``: what
    runs once the run ended, before the store closes, not timed)."""
    storage = SqliteStorage(os.path.join(store_dir, f"{time.time_ns()}.db"))
    executor = ThreadExecutor()
    declared = Declared.of("bench", executor)
    engine = Engine(hook=hook, storage=storage, executor_for=lambda name: declared,
                    default_executor="thread", workers=WORKERS, limits={},
                    prepare_call=prepare)
    start = time.perf_counter()
    runs = engine.run([RunRequest(flow)])
    elapsed = time.perf_counter() - start
    if after is not None:
        after(storage)
    start = time.perf_counter()
    storage.close()
    elapsed += time.perf_counter() - start
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


def measure(shape: str, n: int, repeat: int, hook, store_dir: str
            ) -> tuple[float, float, float]:
    """Median µs/task of the engine and of the pool, and the median of their ratios."""
    rounds = []
    for _ in range(repeat):
        engine = run_engine(shape, n, hook, store_dir)
        rounds.append((engine, run_bare(shape, n)))
    return (statistics.median(e for e, _ in rounds) * 1e6 / n,
            statistics.median(b for _, b in rounds) * 1e6 / n,
            statistics.median(e / b for e, b in rounds))


def alone(shape: str, n: int) -> tuple[float, float]:
    """µs/task and max RSS (MiB) of one engine run in a fresh process (flow included)."""
    out = subprocess.run([sys.executable, __file__, "--child", shape, str(n)],
                         stdout=subprocess.PIPE, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1])


def peak_rss() -> float:
    """This process's peak RSS in MiB. VmHWM where there is one: ``ru_maxrss`` of a
    process started by a big one can count the parent's pages from before exec."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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
    parser.add_argument("--shape", choices=("fanout", "chain"), action="append",
                        help="only this shape (default: both)")
    parser.add_argument("--rss", action="store_true",
                        help="also run each size alone in a fresh process: µs/task, max RSS")
    parser.add_argument("--child", nargs=2, metavar=("SHAPE", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, one round: does the benchmark still run?")
    args = parser.parse_args()
    if args.smoke:
        args.sizes, args.repeat = [100], 1
    store_dir = tempfile.mkdtemp(prefix="flowrun-bench-")
    hook = make_plugin_manager(["no:terminal"], store_dir).hook
    Config(store_dir, None, {}, {})  # imports what a session imports, outside the timing
    if args.child:
        shape, n = args.child[0], int(args.child[1])
        print(run_engine(shape, n, hook, store_dir) * 1e6 / n, peak_rss())
        return
    print(f"{'shape':<8}{'N':>8}{'flowrun µs/task':>18}{'bare pool µs/task':>20}{'ratio':>8}"
          + (f"{'alone µs/task':>15}{'max RSS MiB':>13}" if args.rss else ""))
    for shape in args.shape or ("fanout", "chain"):
        for n in args.sizes:
            repeat = 1 if n >= 100_000 else args.repeat
            ours, bare, ratio = measure(shape, n, repeat, hook, store_dir)
            line = f"{shape:<8}{n:>8}{ours:>18.1f}{bare:>20.1f}{ratio:>8.2f}"
            if args.rss:
                us, rss = alone(shape, n)
                line += f"{us:>15.1f}{rss:>13.0f}"
            print(line, flush=True)
    if args.memory:
        print(f"peak traced memory, 100k fan-out: {peak_memory(100_000, hook, store_dir):.0f} MB")


if __name__ == "__main__":
    main()
