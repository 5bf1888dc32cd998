"""The process and SSH executors through the real engine and SQLite store, each figure
next to a plain ``concurrent.futures`` baseline run in the same process. Prints, asserts
nothing (the machine is shared: quote medians, compare ratios).

    python tests/benchmarks/bench_executors.py           # all three
    python tests/benchmarks/bench_executors.py -r 5 --no-ssh
    python tests/benchmarks/bench_executors.py --smoke   # tiny sizes, once

1. two CPU-bound tasks on 2 workers vs. one after the other (speed-up), cold (workers
   start inside the timing) and warm (the same executor's second run);
2. 10k no-op tasks on the process executor, µs per task;
3. SSH per-task overhead on loopback (a chain of no-op tasks on one multiplexed slot),
   against a real sshd started like the tests start it (needs root and openssh-server).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, wait
from pathlib import Path

from flowrun.engine.loop import Engine
from flowrun.executors.process import ProcessExecutor
from flowrun.executors.ssh_executor import Settings, SSHExecutor
from flowrun.model import Flow, RunRequest, Task, TaskOptions
from flowrun.plugins import make_plugin_manager
from flowrun.storage.sqlite import SqliteStorage

BURN = {"steps": 20_000_000}  # loop steps: about half a second of CPU here


def burn() -> int:
    total = 0
    for i in range(BURN["steps"]):
        total += i & 7
    return total


def noop(*args, **kwargs):
    return None


def flow_of(fn, n: int, chain: bool = False) -> Flow:
    flow = Flow()
    flow.id = flow.path = "bench/flow_x.py"
    tasks = {}
    for i in range(n):
        up = f"t{i - 1}" if chain and i else None
        tasks[f"t{i}"] = Task(flow.id, f"t{i}", fn, TaskOptions(), upstream=(up,) if up else ())
    flow.tasks = tasks
    return flow


def run_flow(executor, flow: Flow, hook, store_dir: str, workers: int) -> float:
    storage = SqliteStorage(os.path.join(store_dir, f"{time.time_ns()}.db"))
    engine = Engine(hook=hook, storage=storage, executor_for=lambda name: executor,
                    default_executor="x", workers=workers, limits={})
    start = time.perf_counter()
    runs = engine.run([RunRequest(flow)])
    elapsed = time.perf_counter() - start
    storage.close()
    assert runs[0].status == "succeeded", runs[0]
    return elapsed


def cpu_bound(hook, store_dir: str, repeat: int) -> None:
    in_process = statistics.median(_timed(lambda: (burn(), burn())) for _ in range(repeat))
    one = ProcessExecutor(1, store_dir)
    run_flow(one, flow_of(noop, 1), hook, store_dir, 1)  # warm
    sequential = statistics.median(run_flow(one, flow_of(burn, 2), hook, store_dir, 1)
                                   for _ in range(repeat))
    one.shutdown()
    print(f"2 CPU-bound tasks one after the other: in this process {in_process:.2f}s, "
          f"on a 1-worker process executor {sequential:.2f}s (the smaller is the base)")
    sequential = min(sequential, in_process)  # the conservative base for speed-ups
    cold, warm, pool = [], [], []
    for _ in range(repeat):
        start = time.perf_counter()
        executor = ProcessExecutor(2, store_dir)  # workers start here: inside the timing
        run_flow(executor, flow_of(burn, 2), hook, store_dir, 2)
        cold.append(time.perf_counter() - start)
        warm.append(run_flow(executor, flow_of(burn, 2), hook, store_dir, 2))
        executor.shutdown()
        with ProcessPoolExecutor(2) as ppe:
            pool.append(_timed(lambda: wait([ppe.submit(burn), ppe.submit(burn)])))
    cold_s, warm_s, pool_s = map(statistics.median, (cold, warm, pool))
    print(f"2 CPU-bound tasks on 2 workers: process executor cold {cold_s:.2f}s "
          f"(speed-up {sequential / cold_s:.2f}x), warm {warm_s:.2f}s (speed-up {sequential / warm_s:.2f}x); ProcessPoolExecutor(2) {pool_s:.2f}s "
          f"(speed-up {sequential / pool_s:.2f}x); warm / pool = {warm_s / pool_s:.2f}")


def no_ops(hook, store_dir: str, repeat: int, n: int) -> None:
    ours, pool = [], []
    for _ in range(repeat):
        executor = ProcessExecutor(2, store_dir)
        ours.append(run_flow(executor, flow_of(noop, n), hook, store_dir, 8))
        executor.shutdown()
        with ProcessPoolExecutor(2) as ppe:
            pool.append(_timed(lambda: wait([ppe.submit(noop) for _ in range(n)])))
    us, base = statistics.median(ours) * 1e6 / n, statistics.median(pool) * 1e6 / n
    print(f"{n} no-op tasks, process executor (2 workers, SQLite store): {us:.0f} µs/task; "
          f"bare ProcessPoolExecutor(2): {base:.0f} µs/task; ratio {us / base:.2f}")


def ssh_overhead(hook, store_dir: str, repeat: int, n: int) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import sshd

    if sshd.why_unavailable():
        print(f"ssh: skipped ({sshd.why_unavailable()})")
        return
    server = sshd.SSHServer(Path(tempfile.mkdtemp(prefix="bench-sshd-"))).start()
    try:
        settings = Settings(hosts=[("h1", 1)], config=str(server.ssh_config),
                            python=sys.executable)
        executor = SSHExecutor(settings, store_dir)
        first = run_flow(executor, flow_of(noop, 1), hook, store_dir, 1)
        chains = [run_flow(executor, flow_of(noop, n, chain=True), hook, store_dir, 1)
                  for _ in range(repeat)]
        executor.shutdown()
        local = ProcessExecutor(1, store_dir)
        run_flow(local, flow_of(noop, 1), hook, store_dir, 1)  # warm
        procs = [run_flow(local, flow_of(noop, n, chain=True), hook, store_dir, 1)
                 for _ in range(repeat)]
        local.shutdown()
        with ProcessPoolExecutor(1) as ppe:
            ppe.submit(noop).result()
            bare = [_timed(lambda: [ppe.submit(noop).result() for _ in range(n)])
                    for _ in range(repeat)]
    finally:
        server.stop()
    ms = statistics.median(chains) * 1e3 / n
    proc_ms = statistics.median(procs) * 1e3 / n
    base = statistics.median(bare) * 1e3 / n
    print(f"ssh loopback, chain of {n} no-ops on one multiplexed slot: {ms:.2f} ms/task "
          f"(first task incl. connecting and starting the worker: {first:.2f}s); process "
          f"executor same chain: {proc_ms:.2f} ms/task; bare ProcessPoolExecutor(1) round "
          f"trip {base:.2f} ms; ssh / bare = {ms / base:.1f}")


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-r", "--repeat", type=int, default=3)
    parser.add_argument("-n", type=int, default=10_000, help="no-op tasks")
    parser.add_argument("--no-ssh", action="store_true")
    parser.add_argument("--chain", type=int, default=200, help="no-op tasks chained over ssh")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, one round: does the benchmark still run?")
    args = parser.parse_args()
    if args.smoke:
        args.repeat, args.n, args.chain, BURN["steps"] = 1, 50, 5, 200_000
    store_dir = tempfile.mkdtemp(prefix="flowrun-bench-")
    hook = make_plugin_manager(["no:terminal"], store_dir).hook
    SqliteStorage(os.path.join(store_dir, "warm.db")).close()  # imports, outside timings
    cpu_bound(hook, store_dir, args.repeat)
    no_ops(hook, store_dir, args.repeat, args.n)
    if not args.no_ssh:
        ssh_overhead(hook, store_dir, args.repeat, args.chain)


if __name__ == "__main__":
    main()
