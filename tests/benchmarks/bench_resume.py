"""What ``--resume`` costs to reuse many succeeded mapped instances: a run of N + 1
instances where the last one fails, then its resume (N instances reused, one run
again). Prints the time to read the stored results (``resume_plan``) and to settle
the reused instances in the engine; the target is under 0.5 s for N = 10,000.

    python tests/benchmarks/bench_resume.py          # N = 10,000
    python tests/benchmarks/bench_resume.py 100000 -r 1
    python tests/benchmarks/bench_resume.py --smoke      # N = 100, once
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

from flowrun.engine.loop import Engine
from flowrun.executors.thread import ThreadExecutor
from flowrun.model import Flow, RunRequest, Task, TaskOptions
from flowrun.plugins import make_plugin_manager
from flowrun.reuse import resume_plan
from flowrun.storage.sqlite import SqliteStorage

FAIL_AT: list[int] = [-1]


def work(i: int) -> int:
    if i == FAIL_AT[0]:
        raise RuntimeError("the last one fails")
    return i * 2


def build(n: int) -> Flow:
    flow = Flow()
    flow.id = flow.path = "bench/flow_resume.py"
    each = {"i": list(range(n + 1))}
    flow.tasks = {"per": Task(flow.id, "per", work, TaskOptions(each=each),
                              static_each=tuple({"i": i} for i in range(n + 1)))}
    return flow


def run(storage: SqliteStorage, hook, request: RunRequest) -> tuple[object, float]:
    executor = ThreadExecutor()
    engine = Engine(hook=hook, storage=storage, executor_for=lambda name: executor,
                    default_executor="thread", workers=8, limits={})
    start = time.perf_counter()
    runs = engine.run([request])
    elapsed = time.perf_counter() - start
    executor.shutdown()
    return runs[0], elapsed


def once(n: int, hook, folder: str) -> tuple[float, float, int]:
    """(seconds reading the stored results, seconds of the resumed run, reused count)."""
    storage = SqliteStorage(os.path.join(folder, f"{time.time_ns()}.db"))
    flow = build(n)
    FAIL_AT[0] = n
    first, _ = run(storage, hook, RunRequest(flow))
    assert first.status == "failed", first
    FAIL_AT[0] = -1
    start = time.perf_counter()
    reuse, stored, _ = resume_plan(storage, flow, storage.get_run(first.id), {})
    plan = time.perf_counter() - start
    second, elapsed = run(storage, hook, RunRequest(flow, resumed_from=first.id,
                                                    reuse=reuse, stored=stored))
    assert second.status == "succeeded", second
    storage.close()
    return plan, elapsed, second.counts.get("cached", 0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", nargs="?", type=int, default=10_000)
    parser.add_argument("-r", "--repeat", type=int, default=3)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, one round: does the benchmark still run?")
    args = parser.parse_args()
    if args.smoke:
        args.n, args.repeat = 100, 1
    folder = tempfile.mkdtemp(prefix="flowrun-bench-resume-")
    hook = make_plugin_manager(["no:terminal"], folder).hook
    results = [once(args.n, hook, folder) for _ in range(args.repeat)]
    plan = statistics.median(r[0] for r in results)
    engine = statistics.median(r[1] for r in results)
    cached = results[0][2]
    total = plan + engine
    print(f"resume of {args.n} succeeded instances (+1 failed): {cached} cached; "
          f"reading {plan:.3f}s + engine {engine:.3f}s = {total:.3f}s "
          f"({'under' if total < 0.5 else 'OVER'} 0.5 s)")
    sys.exit(0)


if __name__ == "__main__":
    main()
