"""Collecting many flow files: ``flowrun --collect-only -q`` as a whole process on a
project of N generated ``flow_*.py`` files (three tasks each, one with options), the
target being 1,000 files in under 2 s. Prints the median wall time of several runs
with a warm bytecode cache, and one cold run (nothing compiled yet, flowrun included).
Asserts nothing.

    python tests/benchmarks/bench_collect_files.py            # 1000 files, median of 5
    python tests/benchmarks/bench_collect_files.py 5000 -r 3
    python tests/benchmarks/bench_collect_files.py --smoke    # 5 files, once

Bytecode: these machines set PYTHONDONTWRITEBYTECODE=1; the benchmark drops it and
points PYTHONPYCACHEPREFIX at a cache of its own, so "warm" means what a user's second
``flowrun`` finds in ``__pycache__``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

FLOW = """\
from flowrun import task


@task
def extract():
    return list(range({size}))


@task
def clean(extract):
    return [x for x in extract if x]


@task(retries=1, tags=["daily"])
def load(clean, target: str = "db"):
    return sum(clean)
"""


def make_project(root: str, files: int) -> None:
    open(os.path.join(root, "flowrun.toml"), "w").close()
    for i in range(files):
        folder = os.path.join(root, "flows", f"group_{i // 100:02d}")  # 100 per folder
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, f"flow_{i:05d}.py"), "w") as handle:
            handle.write(FLOW.format(size=i % 7 + 1))


def collect(root: str, cache: str) -> float:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONDONTWRITEBYTECODE", "FLOWRUN_STORE")}
    env["PYTHONPYCACHEPREFIX"] = cache
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "flowrun", "--collect-only", "-q"],
                          cwd=root, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0 or "collected" not in done.stdout:
        raise SystemExit(f"collection failed ({done.returncode}):\n{done.stdout[-500:]}"
                         f"{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="?", type=int, default=1000)
    parser.add_argument("-r", "--repeat", type=int, default=5)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, one round: does the benchmark still run?")
    args = parser.parse_args()
    if args.smoke:
        args.files, args.repeat = 5, 1
    with tempfile.TemporaryDirectory() as root:
        make_project(root, args.files)
        cache = os.path.join(root, ".pycache")
        cold = collect(root, cache)
        warm = statistics.median(collect(root, cache) for _ in range(args.repeat))
        print(f"{args.files} flow files ({3 * args.files} tasks): --collect-only "
              f"{warm:.3f} s warm (median of {args.repeat}), {cold:.3f} s cold")


if __name__ == "__main__":
    main()
