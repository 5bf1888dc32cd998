"""flowrun next to its peers on no-op DAGs, as whole processes on a fresh store: a 10k
fan-out, a 2k chain and a 1k fan-out, run by ``flowrun -q`` (thread executor, a new
SQLite store each run), ``doit`` (a new ``.doit.db`` each run) and a bare
``ThreadPoolExecutor`` script with the DAG wired by hand (the floor). Dask (threaded
scheduler) and Prefect are timed inside one process (imports excluded), in µs/task.
Rounds interleave the runners, so ratios compare the same moment of a shared machine;
medians are printed. Asserts nothing.

Peers live in their own virtualenv, never in flowrun's dependencies:

    python -m venv .peers-venv && .peers-venv/bin/pip install doit dask prefect
    python tests/benchmarks/bench_peers.py              # 5 rounds
    python tests/benchmarks/bench_peers.py -r 9 --peers /path/to/venv/bin/python
    python tests/benchmarks/bench_peers.py --smoke      # 1/100 of each size, one round

Bytecode: these machines set PYTHONDONTWRITEBYTECODE=1, which would make every
whole-process run recompile every module; the benchmark drops it and points
PYTHONPYCACHEPREFIX at a cache of its own (warmed by one untimed run of each runner).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORKLOADS = (("fan-out 10k", "fanout", 10_000), ("chain 2k", "chain", 2_000),
             ("fan-out 1k", "fanout", 1_000))
INSTALL = "python -m venv .peers-venv && .peers-venv/bin/pip install doit dask prefect"


def flowrun_project(root: str, shape: str, n: int) -> None:
    """A project whose one flow is ``n`` no-op tasks after a root."""
    os.makedirs(os.path.join(root, "flows"))
    with open(os.path.join(root, "flowrun.toml"), "w") as fh:
        fh.write('flowpaths = ["flows"]\n')
    if shape == "fanout":  # the idiomatic fan-out: one mapped instance per item
        body = ("from flowrun import task\n\n@task\ndef root():\n    return range("
                f"{n})\n\n@task(each='root')\ndef leaf(root):\n    return None\n")
    else:  # a chain is n functions, each naming the one before
        body = "from flowrun import task\n\n@task\ndef t0():\n    return None\n" + "".join(
            f"\n@task\ndef t{i}(t{i - 1}):\n    return None\n" for i in range(1, n + 1))
    with open(os.path.join(root, "flows", f"flow_{shape}.py"), "w") as fh:
        fh.write(body)


DODO = """\
def noop():
    return None

def task_dag():
    yield {{"name": "t0", "actions": [(noop,)], "verbosity": 0}}
    for i in range(1, {n} + 1):
        up = "dag:t0" if {fanout} else f"dag:t{{i - 1}}"
        yield {{"name": f"t{{i}}", "actions": [(noop,)], "task_dep": [up], "verbosity": 0}}
"""

POOL = """\
import sys
from concurrent.futures import ThreadPoolExecutor, wait

def noop(*args):
    return None

shape, n = sys.argv[1], int(sys.argv[2])
with ThreadPoolExecutor(8) as pool:
    if shape == "fanout":
        root = pool.submit(noop).result()
        wait([pool.submit(noop, root) for _ in range(n)])
    else:
        value = None
        for _ in range(n + 1):
            value = pool.submit(noop, value).result()
"""

#: In-process peers: each prints seconds for the DAG, imports done before the clock.
DASK = """\
import sys, time
import dask.threaded

def noop(*args):
    return None

shape, n = sys.argv[1], int(sys.argv[2])
graph = {"t0": (noop,)}
for i in range(1, n + 1):
    graph[f"t{i}"] = (noop, "t0" if shape == "fanout" else f"t{i - 1}")
start = time.perf_counter()
dask.threaded.get(graph, list(graph), num_workers=8)
print(time.perf_counter() - start)
"""

PREFECT = """\
import sys, time
from prefect import flow, task

@task
def noop(*args):
    return None

@flow
def dag(shape, n):
    root = noop.submit()
    if shape == "fanout":
        futures = [noop.submit(root) for _ in range(n)]
    else:
        futures, up = [], root
        for _ in range(n):
            up = noop.submit(up)
            futures.append(up)
    for future in futures:
        future.result()

shape, n = sys.argv[1], int(sys.argv[2])
dag(shape, 10)  # warm-up: the ephemeral API server starts here
start = time.perf_counter()
dag(shape, n)
print(time.perf_counter() - start)
"""


def bench_env(cache: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONDONTWRITEBYTECODE", "FLOWRUN_STORE")}
    env["PYTHONPYCACHEPREFIX"] = cache
    return env


class Whole:
    """One runner on one workload as a whole process: ``argv`` run in ``cwd``, after
    ``fresh`` removed what the previous run left (its store)."""

    def __init__(self, argv: list[str], cwd: str, leftovers: list[str],
                 extra_env: dict[str, str] | None = None) -> None:
        self.argv, self.cwd, self.leftovers = argv, cwd, leftovers
        self.extra_env = extra_env or {}

    def once(self, env: dict[str, str]) -> float:
        for path in self.leftovers:
            shutil.rmtree(path, ignore_errors=True) if os.path.isdir(path) else \
                os.path.exists(path) and os.remove(path)
        start = time.perf_counter()
        done = subprocess.run(self.argv, cwd=self.cwd, env={**env, **self.extra_env},
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(self.argv)} failed ({done.returncode}):\n"
                             f"{done.stderr[-2000:]}")
        return elapsed


def has(python: str, module: str) -> bool:
    return os.path.exists(python) and subprocess.run(
        [python, "-c", f"import {module}"], capture_output=True).returncode == 0


def whole_runners(work: str, shape: str, n: int, peers: str,
                  compare: str | None = None) -> dict[str, Whole]:
    """flowrun, the bare pool and doit (if installed) on one workload; with ``compare``,
    also flowrun imported from that source tree (another checkout), same rounds."""
    base = os.path.join(work, f"{shape}{n}")
    flowrun_project(os.path.join(base, "flowrun"), shape, n)
    store = os.path.join(base, "flowrun", "runs.db")
    runners = {
        "flowrun": Whole([sys.executable, "-m", "flowrun", "-q", "--executor", "thread",
                          "--store", store], os.path.join(base, "flowrun"),
                         [store, store + "-wal", store + "-shm", store + ".results"]),
        "bare pool": Whole([sys.executable, "-c", POOL, shape, str(n)], base, []),
    }
    if compare:
        runners["compared"] = Whole(runners["flowrun"].argv, runners["flowrun"].cwd,
                                    runners["flowrun"].leftovers,
                                    {"PYTHONPATH": os.path.abspath(compare)})
    if has(peers, "doit"):
        os.makedirs(os.path.join(base, "doit"))
        with open(os.path.join(base, "doit", "dodo.py"), "w") as fh:
            fh.write(DODO.format(n=n, fanout=shape == "fanout"))
        doit_db = os.path.join(base, "doit", ".doit.db")
        runners["doit"] = Whole([peers, "-m", "doit", "-f", "dodo.py"],
                                os.path.join(base, "doit"),
                                [doit_db, doit_db + ".db", doit_db + ".dat",
                                 doit_db + ".dir", doit_db + ".bak"])
    return runners


def in_process(peers: str, script: str, shape: str, n: int, env: dict[str, str],
               cwd: str) -> float:
    """µs/task of one in-process peer run."""
    done = subprocess.run([peers, "-c", script, shape, str(n)], env=env, cwd=cwd,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"in-process peer failed:\n{done.stderr[-2000:]}")
    return float(done.stdout.strip().splitlines()[-1]) * 1e6 / n


def floors(peers: str, env: dict[str, str], rounds: int) -> dict[str, float]:
    """``python -c pass`` in each interpreter: what any whole process pays first."""
    found = {}
    for label, python in (("flowrun's venv", sys.executable), ("peers' venv", peers)):
        if os.path.exists(python):
            times = [Whole([python, "-c", "pass"], ROOT, []).once(env) for _ in range(rounds)]
            found[label] = statistics.median(times)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-r", "--rounds", type=int, default=5)
    parser.add_argument("--peers", default=os.path.join(ROOT, ".peers-venv", "bin", "python"),
                        help="the Python of a virtualenv holding doit, dask, prefect")
    parser.add_argument("--prefect-tasks", type=int, default=200,
                        help="tasks per Prefect DAG (it takes ~10 ms a task)")
    parser.add_argument("-w", "--workload", action="append",
                        choices=[label for label, _, _ in WORKLOADS],
                        help="only this workload (repeatable)")
    parser.add_argument("--compare", metavar="SRC",
                        help="also time flowrun from the source tree SRC (a checkout "
                        "holding flowrun/), in the same rounds")
    parser.add_argument("--whole-only", action="store_true",
                        help="skip the in-process Dask and Prefect figures")
    parser.add_argument("--smoke", action="store_true",
                        help="1/100 of each size, one round: does the benchmark still run?")
    args = parser.parse_args()
    workloads = WORKLOADS
    if args.smoke:
        args.rounds, args.prefect_tasks = 1, 10
        workloads = tuple((f"{label} (smoke: {n // 100})", shape, n // 100)
                          for label, shape, n in WORKLOADS)
    for module in ("doit", "dask", "prefect"):
        if not has(args.peers, module):
            print(f"# {module}: not installed in {args.peers}, skipped (install: {INSTALL})")
    with tempfile.TemporaryDirectory() as work:
        env = bench_env(os.path.join(work, "pycache"))
        env["PREFECT_HOME"] = os.path.join(work, "prefect")
        print(f"# python -c pass (median of {args.rounds}): " + ", ".join(
            f"{label} {t:.3f} s" for label, t in floors(args.peers, env, args.rounds).items()))
        print(f"| workload | {'flowrun':>9} | {'bare pool':>9} | {'doit':>9} | "
              "flowrun ÷ doit | dask µs/task | prefect µs/task |")
        for (label, shape, n), (name, _, _) in zip(workloads, WORKLOADS):
            if not args.workload or name in args.workload:
                print(row(label, shape, n, work, env, args), flush=True)


def row(label: str, shape: str, n: int, work: str, env: dict[str, str],
        args: argparse.Namespace) -> str:
    runners = whole_runners(work, shape, n, args.peers, args.compare)
    times: dict[str, list[float]] = {name: [] for name in runners}
    for runner in runners.values():
        runner.once(env)  # warm the bytecode cache, untimed
    for _ in range(args.rounds):
        for name, runner in runners.items():
            times[name].append(runner.once(env))
    med = {name: statistics.median(t) for name, t in times.items()}
    ratio = f"{med['flowrun'] / med['doit']:.2f}" if "doit" in med else "—"
    dask = prefect = "—"
    if has(args.peers, "dask") and not args.whole_only:
        dask = f"{statistics.median(in_process(args.peers, DASK, shape, n, env, work) for _ in range(3)):.0f}"
    if has(args.peers, "prefect") and not args.whole_only:
        small = min(n, args.prefect_tasks)
        prefect = f"{in_process(args.peers, PREFECT, shape, small, env, work):.0f} (n={small})"
    cells = [f"{med[name]:.3f} s" if name in med else "—"
             for name in ("flowrun", "bare pool", "doit")]
    compared = f" (flowrun from {args.compare}: {med['compared']:.3f} s, " \
        f"{med['compared'] / med['doit']:.2f}× doit)" if "compared" in med and "doit" in med \
        else ""
    return f"| {label} | " + " | ".join(f"{c:>9}" for c in cells) + \
        f" | {ratio} | {dask} | {prefect} |{compared}"


if __name__ == "__main__":
    main()
