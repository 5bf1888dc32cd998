"""A 200 MB result passed to 4 downstream tasks on ``--executor process``: wall time and
bytes through the coordinator's pipes (frames written and read), median of N runs.

    python tests/benchmarks/bench_big_results.py [-r 3] [--mb 200]
    python tests/benchmarks/bench_big_results.py --smoke   # 1 MB, once: does it run?

To compare with an older flowrun, run it with that checkout first on PYTHONPATH; the
frame counting wraps the link's frame functions, which every version has.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import textwrap
import time

FLOW = """
from flowrun import task

@task
def make():
    return b"z" * {size}

@task(each={{"i": [1, 2, 3, 4]}})
def use(make, i):
    return len(make) + i
"""


def _count_frames() -> dict[str, int]:
    from flowrun.executors import link

    counts = {"sent": 0, "received": 0}
    write, read = link.write_frame, link.safe_read_frame

    def counted_write(stream, message):
        import pickle

        counts["sent"] += len(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
        return write(stream, message)

    def counted_read(stream):
        import pickle

        message = read(stream)
        if message is not None:
            counts["received"] += len(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
        return message

    link.write_frame, link.safe_read_frame = counted_write, counted_read
    return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-r", "--rounds", type=int, default=3)
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, one round: does the benchmark still run?")
    args = parser.parse_args()
    if args.smoke:
        args.rounds, args.mb = 1, 1
    import flowrun
    from flowrun.cli.main import run

    counts = _count_frames()
    walls, moved = [], []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as root:
            os.makedirs(os.path.join(root, "flows"))
            with open(os.path.join(root, "flows", "flow_big.py"), "w") as f:
                f.write(textwrap.dedent(FLOW.format(size=args.mb * 1_000_000)))
            open(os.path.join(root, "flowrun.toml"), "w").close()
            cwd = os.getcwd()
            os.chdir(root)
            before = counts["sent"] + counts["received"]
            start = time.perf_counter()
            code = run(["--executor", "process", "-q"])
            walls.append(time.perf_counter() - start)
            moved.append(counts["sent"] + counts["received"] - before)
            os.chdir(cwd)
            assert code == 0, code
    print(f"flowrun {os.path.dirname(flowrun.__file__)}: {args.mb} MB result, 4 downstream "
          f"process tasks: wall {statistics.median(walls):.2f} s (median of {args.rounds}), "
          f"frames {statistics.median(moved) / 1e6:.1f} MB", file=sys.stderr)


if __name__ == "__main__":
    main()
