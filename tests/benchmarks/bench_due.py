"""``flowrun --due`` with nothing due, on a project of N scheduled flows, as a real
subprocess (what cron pays every minute), next to ``flowrun --version`` (the floor:
interpreter start-up and the console entry). Median of several runs; asserts nothing.

    python tests/benchmarks/bench_due.py            # 50 flows, median of 7
    python tests/benchmarks/bench_due.py 200 -r 11
    python tests/benchmarks/bench_due.py --smoke    # 3 flows, once
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
from flowrun import Flow, task

flow = Flow(schedule="{minute} 6 * * *", timezone="Europe/Paris")


@task
def extract():
    return [1, 2, 3]


@task
def load(extract):
    return len(extract)
"""
NOW = "2026-11-22T12:00:00+00:00"  # every flow's 06:xx slot is past: the first call runs


def make_project(root: str, flows: int) -> None:
    os.makedirs(os.path.join(root, "flows"))
    open(os.path.join(root, "flowrun.toml"), "w").close()
    for i in range(flows):
        with open(os.path.join(root, "flows", f"flow_{i:03d}.py"), "w") as handle:
            handle.write(FLOW.format(minute=i % 60))


def timed(root: str, *args: str) -> tuple[float, subprocess.CompletedProcess]:
    env = {**os.environ, "FLOWRUN_NOW": NOW}
    env.pop("FLOWRUN_STORE", None)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "flowrun", *args], cwd=root, env=env,
                          capture_output=True, text=True)
    return time.perf_counter() - start, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("flows", nargs="?", type=int, default=50)
    parser.add_argument("-r", "--repeat", type=int, default=7)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, one round: does the benchmark still run?")
    args = parser.parse_args()
    if args.smoke:
        args.flows, args.repeat = 3, 1
    with tempfile.TemporaryDirectory() as root:
        make_project(root, args.flows)
        first, done = timed(root, "--due", "-q")  # runs every flow once, creates the store
        assert done.returncode == 0, done.stdout + done.stderr
        due, floor = [], []
        for _ in range(args.repeat):
            seconds, done = timed(root, "--due")
            assert (done.returncode, done.stdout, done.stderr) == (0, "", ""), done
            due.append(seconds)
            floor.append(timed(root, "--version")[0])
    print(f"{args.flows} scheduled flows: first --due (runs all) {first * 1000:.0f} ms")
    print(f"--due, nothing due: median {statistics.median(due) * 1000:.0f} ms "
          f"(min {min(due) * 1000:.0f}, max {max(due) * 1000:.0f}) over {args.repeat}")
    print(f"--version (floor):  median {statistics.median(floor) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
