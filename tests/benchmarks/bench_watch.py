"""Watch latency: a real ``flowrun --watch`` on a project of N flows sharing a helper;
each save rewrites one flow file (or the helper) and we measure from just before the
write to the moment the rerun's first task starts (the task writes ``time.time()``).
Reports p50 / p95 / max; asserts nothing.

    python tests/benchmarks/bench_watch.py               # 20 flows, 20 saves each kind
    python tests/benchmarks/bench_watch.py --flows 50 --saves 30
    python tests/benchmarks/bench_watch.py --smoke     # 2 flows, 2 saves
"""
from __future__ import annotations

import argparse
import os
import queue
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

FLOW = """\
import os, time
from flowrun import task
import helpers

@task
def first():
    with open(os.path.join({stamps!r}, "{name}-{version}"), "w") as fh:
        fh.write(repr(time.time()))
    return helpers.VALUE + {version}

@task
def second(first):
    return first * 2
"""


def write_flow(root: str, name: str, version: int) -> None:
    stamps = os.path.join(root, ".stamps")
    with open(os.path.join(root, "flows", f"{name}.py"), "w") as fh:
        fh.write(FLOW.format(stamps=stamps, name=name, version=version))


def wait_stamp(path: str, timeout: float = 20.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(path) as fh:
                text = fh.read()
            if text:
                return float(text)
        except OSError:
            pass
        time.sleep(0.002)
    raise SystemExit(f"no task start within {timeout}s ({path})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--flows", type=int, default=20)
    parser.add_argument("--saves", type=int, default=20)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, one round: does the benchmark still run?")
    args = parser.parse_args()
    if args.smoke:
        args.flows, args.saves = 2, 2
    root = tempfile.mkdtemp(prefix="bench-watch-")
    os.makedirs(os.path.join(root, "flows"))
    os.makedirs(os.path.join(root, ".stamps"))
    open(os.path.join(root, "flowrun.toml"), "w").close()
    with open(os.path.join(root, "flows", "helpers.py"), "w") as fh:
        fh.write("VALUE = 0\n")
    names = [f"flow_{i:03d}" for i in range(args.flows)]
    for name in names:
        write_flow(root, name, 0)
    proc = subprocess.Popen([sys.executable, "-m", "flowrun", "--watch", "-q"], cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.SimpleQueue[str] = queue.SimpleQueue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()

    def settle() -> None:  # until the cycle's "watching for changes" line
        while "watching for changes" not in lines.get(timeout=60):
            pass

    try:
        settle()
        flow_save, helper_save = [], []
        current = dict.fromkeys(names, 0)
        for version in range(1, args.saves + 1):
            name = names[version % len(names)]
            current[name] = version
            time.sleep(0.3)  # a person saves at most a few times a second
            saved = time.time()
            write_flow(root, name, version)
            flow_save.append(wait_stamp(os.path.join(root, ".stamps", f"{name}-{version}"))
                             - saved)
            settle()
        for version in range(1, min(args.saves, 5) + 1):  # the helper: every flow reruns
            stamps = [os.path.join(root, ".stamps", f"{n}-{v}") for n, v in current.items()]
            for path in stamps:
                os.remove(path)
            time.sleep(0.3)
            saved = time.time()
            with open(os.path.join(root, "flows", "helpers.py"), "w") as fh:
                fh.write(f"VALUE = {version}\n")
            helper_save.append(min(wait_stamp(p) for p in stamps) - saved)
            settle()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    report("one flow file saved", flow_save)
    report(f"helper saved ({args.flows} flows rerun)", helper_save)


def report(what: str, seconds: list[float]) -> None:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    print(f"{what}: save -> first task start over {len(ms)} saves: "
          f"p50 {statistics.median(ms):.0f} ms, p95 {p95:.0f} ms, max {ms[-1]:.0f} ms")


if __name__ == "__main__":
    main()
