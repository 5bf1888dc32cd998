"""Graph resolution of a big flow: ``graph.resolve`` (parameters to edges, option checks,
cycle check), ``graph.order`` alone and ``graph.select`` with ``-k``, in µs/task.
Asserts nothing; per-task cost should stay flat from 100k to 1M tasks.

The flow is built in memory, outside the timing: every task is a real function whose
parameters name its upstream tasks, so resolution reads real signatures as it does for
a collected file. Shapes: ``fanout`` (one root, every other task reads it: the widest
ready queue) and ``layered`` (task i reads tasks i-1 and i//2).

    python tests/benchmarks/bench_collect.py                  # 100k and 1M, both shapes
    python tests/benchmarks/bench_collect.py 200000 -s fanout
    python tests/benchmarks/bench_collect.py --smoke          # 1,000 tasks
"""
from __future__ import annotations

import argparse
import gc
import statistics
import time

from flowrun import graph
from flowrun.model import Flow, Task, TaskOptions


def noop():  # noqa: ANN201
    return None


def _one(a):  # noqa: ANN001, ANN202 - templates whose parameter names get replaced
    return None


def _two(a, b):  # noqa: ANN001, ANN202
    return None


def task_fn(params: tuple[str, ...]):  # noqa: ANN201
    """A function taking exactly ``params`` (names of its upstream tasks)."""
    template = {0: noop, 1: _one, 2: _two}[len(params)]
    return type(template)(template.__code__.replace(co_varnames=params), {})


def upstream_of(shape: str, i: int) -> tuple[str, ...]:
    if i == 0:
        return ()
    if shape == "fanout":
        return ("t0",)
    return tuple(dict.fromkeys((f"t{i - 1}", f"t{i // 2}")))


def build(shape: str, n: int) -> Flow:
    flow = Flow()
    flow.id = flow.path = f"bench/flow_{shape}.py"
    options = TaskOptions()
    flow.tasks = {f"t{i}": Task(flow.id, f"t{i}", task_fn(upstream_of(shape, i)), options)
                  for i in range(n)}
    return flow


def timed(fn, *args) -> float:  # noqa: ANN001
    gc.collect()
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def measure(shape: str, n: int) -> tuple[float, float, float]:
    """µs/task of resolve, order (median of 3) and select on a fresh flow of ``n``
    tasks."""
    flow = build(shape, n)
    resolve = timed(graph.resolve, flow)
    order = statistics.median(timed(graph.order, flow) for _ in range(3))
    select = timed(graph.select, [flow], {}, "t1", None)
    assert flow.selected and flow.tasks["t1"].upstream == ("t0",), "resolution went wrong"
    return resolve * 1e6 / n, order * 1e6 / n, select * 1e6 / n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sizes", nargs="*", type=int, default=[100_000, 1_000_000])
    parser.add_argument("-s", "--shape", choices=("fanout", "layered"), action="append")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, one round: does the benchmark still run?")
    args = parser.parse_args()
    if args.smoke:
        args.sizes = [1000]
    print(f"{'shape':<9}{'N':>9}{'resolve µs/task':>17}{'order µs/task':>15}"
          f"{'select -k µs/task':>19}")
    for shape in args.shape or ("fanout", "layered"):
        for n in args.sizes:
            resolve, order, select = measure(shape, n)
            print(f"{shape:<9}{n:>9}{resolve:>17.2f}{order:>15.2f}{select:>19.2f}",
                  flush=True)


if __name__ == "__main__":
    main()
