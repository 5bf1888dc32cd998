"""The PostgreSQL store beside SQLite, whole process, in the same rounds: a fan-out of N
mapped no-op tasks (``flowrun -q``, a fresh store each round), then 3 hosts running
``flowrun --due`` together over S scheduled flows (each slot must run exactly once).
Needs PostgreSQL installed (Debian's ``postgresql``): a throwaway cluster is started
with ``fsync=off``. Bytecode is cached (``PYTHONPYCACHEPREFIX``). Asserts only counts.

    python tests/benchmarks/bench_postgres.py             # 10k fan-out, 3 rounds, 100 slots
    python tests/benchmarks/bench_postgres.py 2000 -r 5
    python tests/benchmarks/bench_postgres.py --smoke     # 200 tasks, 1 round, 10 slots
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter

FANOUT = """\
from flowrun import task


@task
def source():
    return list(range({n}))


@task(each="source")
def work(source):
    return source
"""
SCHEDULED = """\
from flowrun import Flow, task

flow = Flow(schedule="{minute} 6 * * *")


@task
def tick():
    return 1
"""
NOW = "2026-12-07T07:00:00+00:00"


def flowrun(root: str, env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "flowrun", *args], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def timed_fanout(root: str, env: dict[str, str], store: str) -> float:
    start = time.perf_counter()
    proc = flowrun(root, env, "-q", "--store", store)
    out = proc.communicate()[0]
    assert proc.returncode == 0, out
    return time.perf_counter() - start


def fanout(cluster: object, tasks: int, rounds: int, env: dict[str, str]) -> None:
    sqlite, postgres = [], []
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "flows"))
        with open(os.path.join(root, "flows", "flow_fan.py"), "w") as handle:
            handle.write(FANOUT.format(n=tasks))
        timed_fanout(root, env, os.path.join(root, "warm.db"))  # bytecode cache
        for i in range(rounds):
            sqlite.append(timed_fanout(root, env, os.path.join(root, f"r{i}.db")))
            postgres.append(timed_fanout(root, env, cluster.new_database()))
    s, p = statistics.median(sqlite), statistics.median(postgres)
    print(f"fan-out {tasks} tasks, whole process, median of {rounds}: "
          f"SQLite {s:.2f} s, PostgreSQL {p:.2f} s, ratio {p / s:.2f}x "
          f"(PostgreSQL {p / tasks * 1e6:.0f} µs/task)")


def due_hosts(cluster: object, slots: int, env: dict[str, str]) -> None:
    from flowrun_postgres.store import PostgresStorage

    url = cluster.new_database()
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "flows"))
        for i in range(slots):
            with open(os.path.join(root, "flows", f"flow_{i:03d}.py"), "w") as handle:
                handle.write(SCHEDULED.format(minute=i % 60))
        start = time.perf_counter()
        procs = [flowrun(root, {**env, "FLOWRUN_STORE": url, "FLOWRUN_HOSTNAME": f"h{h}",
                                "FLOWRUN_NOW": NOW}, "--due", "-q") for h in range(3)]
        for proc in procs:
            out = proc.communicate()[0]
            assert proc.returncode == 0, out
        took = time.perf_counter() - start
    store = PostgresStorage(url)
    try:
        runs = store.list_runs()
    finally:
        store.close()
    once = Counter((run.flow_id, run.scheduled_for) for run in runs)
    assert len(runs) == slots and set(once.values()) == {1}, once
    hosts = Counter(run.host for run in runs)
    print(f"3 hosts x --due x {slots} slots: {len(runs)} runs, each slot once, "
          f"{took:.2f} s wall (runs per host: {dict(sorted(hosts.items()))})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tasks", nargs="?", type=int, default=10_000)
    parser.add_argument("-r", "--rounds", type=int, default=3)
    parser.add_argument("--slots", type=int, default=100)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, one round: does the benchmark still run?")
    args = parser.parse_args()
    if args.smoke:
        args.tasks, args.rounds, args.slots = 200, 1, 10
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "plugins",
                                    "flowrun-postgres"))
    try:
        from flowrun_postgres.testing import start_cluster
    except ImportError as exc:
        print(f"skipped: flowrun-postgres cannot load ({exc}); 0 s measured")
        return
    cluster, why = start_cluster()
    if cluster is None:
        print(f"skipped: {why}; 0 s measured")
        return
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "PYTHONPYCACHEPREFIX": cache}
        env.pop("FLOWRUN_STORE", None)
        try:
            fanout(cluster, args.tasks, args.rounds, env)
            due_hosts(cluster, args.slots, env)
        finally:
            cluster.close()


if __name__ == "__main__":
    main()
