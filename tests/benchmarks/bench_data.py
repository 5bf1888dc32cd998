"""Cached tasks over files, beside doit (``file_dep`` + ``targets``) and GNU make, as
whole processes: a flow of N tasks, each reading one file and writing one.

- **null run**: nothing changed since the last run (every task ``cached``);
- **one change**: one input file edited (its task runs, the rest are cached);
- **hashing**: a large file hashed by flowrun's file hasher against ``sha256sum``, then
  hashed again with its stat signature unchanged (bytes read: 0).

Rounds interleave the runners, so ratios compare the same moment of a shared machine;
medians are printed. Asserts nothing. doit comes from the peers' virtualenv:

    python -m venv .peers-venv && .peers-venv/bin/pip install doit   # once
    python tests/benchmarks/bench_data.py            # 10,000 tasks, 5 rounds, 1 GB file
    python tests/benchmarks/bench_data.py --smoke    # 100 tasks, 1 round, 8 MB file

Bytecode: the benchmark drops PYTHONDONTWRITEBYTECODE and points PYTHONPYCACHEPREFIX at
a cache of its own (warmed by the untimed first runs).
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
sys.path.insert(0, ROOT)

FLOW = """\
from pathlib import Path
from flowrun import task

@task(each={{"i": list(range({n}))}}, reads=["data/in_{{i}}.txt"],
      writes=["out/out_{{i}}.txt"], cache=True)
def copy(i):
    text = Path(f"data/in_{{i}}.txt").read_text()
    Path(f"out/out_{{i}}.txt").write_text(text)
    return len(text)
"""
DODO = """\
from pathlib import Path

def copy(src, dst):
    Path(dst).write_text(Path(src).read_text())

def task_copy():
    for i in range({n}):
        src, dst = f"data/in_{{i}}.txt", f"out/out_{{i}}.txt"
        yield {{"name": str(i), "actions": [(copy, [src, dst])], "file_dep": [src],
               "targets": [dst], "verbosity": 0}}
"""
MAKEFILE = """\
N := $(shell seq 0 {last})
all: $(foreach i,$(N),out/out_$(i).txt)
out/out_%.txt: data/in_%.txt
\t@cp $< $@
"""


def make_project(base: str, kind: str, n: int) -> str:
    root = os.path.join(base, kind)
    os.makedirs(os.path.join(root, "data"))
    os.makedirs(os.path.join(root, "out"))
    for i in range(n):
        with open(os.path.join(root, "data", f"in_{i}.txt"), "w") as fh:
            fh.write(f"row {i}\n")
    files = {"flowrun": {"flowrun.toml": 'flowpaths = ["flows"]\n', "flows/flow_copy.py": FLOW.format(n=n)},
             "doit": {"dodo.py": DODO.format(n=n)},
             "make": {"Makefile": MAKEFILE.format(last=n - 1)}}[kind]
    for rel, text in files.items():
        os.makedirs(os.path.dirname(os.path.join(root, rel)) or root, exist_ok=True)
        with open(os.path.join(root, rel), "w") as fh:
            fh.write(text)
    return root


def commands(peers: str) -> dict[str, list[str]]:
    found = {"flowrun": [sys.executable, "-m", "flowrun", "-q"]}
    if os.path.exists(peers) and subprocess.run([peers, "-c", "import doit"],
                                                capture_output=True).returncode == 0:
        found["doit"] = [peers, "-m", "doit", "-f", "dodo.py"]
    if shutil.which("make"):
        found["make"] = ["make", "-r", "-s", "-j1"]  # -r: no built-in implicit rules
    return found


def timed(argv: list[str], cwd: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n"
                         f"{done.stderr[-2000:]}")
    return elapsed


def edit_one(root: str, round_no: int) -> None:
    """Change one input's content (and length), so its task must run."""
    with open(os.path.join(root, "data", "in_5.txt"), "w") as fh:
        fh.write("changed " * (round_no + 2) + "\n")


def bench_runs(work: str, n: int, rounds: int, peers: str, env: dict[str, str]) -> None:
    runners = commands(peers)
    roots = {kind: make_project(work, kind, n) for kind in runners}
    for kind, argv in runners.items():  # the first build, untimed (warms bytecode too)
        timed(argv, roots[kind], env)
        timed(argv, roots[kind], env)
    null: dict[str, list[float]] = {k: [] for k in runners}
    change: dict[str, list[float]] = {k: [] for k in runners}
    for r in range(rounds):
        for kind, argv in runners.items():
            null[kind].append(timed(argv, roots[kind], env))
        time.sleep(0.01)  # make's mtimes: the edit must be newer than the outputs
        for kind, argv in runners.items():
            edit_one(roots[kind], r)
            change[kind].append(timed(argv, roots[kind], env))
    _table(f"{n:,} tasks, each reading one file and writing one, whole process "
           f"(median of {rounds})", {"null run": null, "one file changed": change})
    _check_one_ran(roots["flowrun"], env)


def _table(title: str, rows: dict[str, dict[str, list[float]]]) -> None:
    print(title)
    kinds = list(next(iter(rows.values())))
    print(f"  {'':18}" + "".join(f"{k:>12}" for k in kinds) + "   flowrun/doit  flowrun/make")
    for label, by_kind in rows.items():
        med = {k: statistics.median(v) for k, v in by_kind.items()}
        ratios = "".join(f"  {med['flowrun'] / med[o]:12.2f}" if o in med else "  " + " " * 12
                         for o in ("doit", "make"))
        print(f"  {label:18}" + "".join(f"{med[k]:11.3f}s" for k in kinds) + ratios)


def _check_one_ran(root: str, env: dict[str, str]) -> None:
    """After one edit exactly one task runs (its status line says so)."""
    edit_one(root, 99)
    done = subprocess.run([sys.executable, "-m", "flowrun", "-q"], cwd=root, env=env,
                          capture_output=True, text=True)
    print("  after one edit, flowrun -q says: " + done.stdout.strip().splitlines()[-1])


def bench_hashing(work: str, size: int, rounds: int) -> None:
    from flowrun.filehash import FileHasher

    path = os.path.join(work, "big.bin")
    block = os.urandom(1 << 20)
    with open(path, "wb") as fh:
        for _ in range(size >> 20):
            fh.write(block)
    os.utime(path, (time.time() - 10, time.time() - 10))  # outside the racy window
    ours, tool = [], []
    for _ in range(rounds):
        cache = os.path.join(work, "hashes.db")
        if os.path.exists(cache):
            os.remove(cache)
        hasher = FileHasher(work, cache)
        start = time.perf_counter()
        hasher.states(["big.bin"])
        ours.append(time.perf_counter() - start)
        hasher.save()
        start = time.perf_counter()
        subprocess.run(["sha256sum", path], stdout=subprocess.DEVNULL, check=True)
        tool.append(time.perf_counter() - start)
    again = FileHasher(work, os.path.join(work, "hashes.db"))
    start = time.perf_counter()
    again.states(["big.bin"])
    second = time.perf_counter() - start
    mb = size / 1e6
    o, t = statistics.median(ours), statistics.median(tool)
    print(f"hashing a {size >> 20} MiB file (sha256, median of {rounds}): flowrun "
          f"{mb / o:.0f} MB/s, sha256sum {mb / t:.0f} MB/s, ratio {t / o:.2f}; "
          f"second run: {again.bytes_read} bytes read in {second * 1e3:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000, help="tasks")
    parser.add_argument("-r", "--rounds", type=int, default=5)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--peers", default=os.path.join(ROOT, ".peers-venv", "bin", "python"))
    parser.add_argument("--smoke", action="store_true", help="100 tasks, one round, 8 MB")
    args = parser.parse_args()
    if args.smoke:
        args.n, args.rounds, args.size_mb = 100, 1, 8
    work = tempfile.mkdtemp(prefix="flowrun-bench-data-")
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONDONTWRITEBYTECODE", "FLOWRUN_STORE")}
    env["PYTHONPYCACHEPREFIX"] = os.path.join(work, "pycache")
    try:
        bench_runs(work, args.n, args.rounds, args.peers, env)
        bench_hashing(work, args.size_mb << 20, args.rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
