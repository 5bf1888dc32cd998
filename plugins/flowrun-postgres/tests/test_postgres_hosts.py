"""Several hosts on one store: separate ``flowrun`` processes, each with its own
``FLOWRUN_HOSTNAME`` and working copy; a killed host loses its whole process group."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections import Counter
from typing import Iterator

import pytest

from flowrun.testing import flowrun_command
from flowrun_postgres.store import PostgresStorage

pytestmark = pytest.mark.slow  # several hosts against one server: CI's slow job runs it

SLOW = """
    import os, time
    from flowrun import task

    @task
    def first():
        return 1

    @task
    def slow(first):
        open("started", "w").close()
        while os.path.exists("slow"):
            time.sleep(0.05)
        return first + 1
"""
LEASE = {"lease_interval": 0.2, "lease_timeout": 1.5}


def configure(project, url: str) -> None:
    project.write("flowrun.toml", f'[tool.flowrun]\nstore = "{url}"\n' + "".join(
        f"{key} = {value}\n" for key, value in LEASE.items()))


def wait_for(predicate, timeout: float) -> float:
    start = time.monotonic()
    while not predicate():
        assert time.monotonic() - start < timeout, "timed out"
        time.sleep(0.05)
    return time.monotonic() - start


def test_a_killed_hosts_run_is_interrupted_when_its_lease_lapses_and_resumes_elsewhere(
        project, pg_url):
    configure(project, pg_url)
    project.write("flows/flow_slow.py", SLOW)
    (project.path / "slow").write_text("")
    proc = project.popen(env={"FLOWRUN_HOSTNAME": "host-a"}, start_new_session=True)
    wait_for(lambda: (project.path / "started").exists(), 30)
    time.sleep(0.3)  # a lease renewal or two
    with project.storage() as store:
        (running,) = store.list_runs()
    early = project.run("--resume", running.id, env={"FLOWRUN_HOSTNAME": "host-b"})
    assert early.exit_code == 1 and f"ERROR: run {running.id} of flows/flow_slow.py is " \
        "still running on host host-a; wait for it to end" in early.output
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    store = PostgresStorage(pg_url, LEASE)
    try:
        (run,) = store.list_runs()
        assert run.status == "running" and run.host == "host-a"
        took = wait_for(lambda: store.get_run(run.id).status == "interrupted", 10)
        assert took <= LEASE["lease_timeout"] + LEASE["lease_interval"] + 0.5
    finally:
        store.close()
    shown = project.run("show", run.id)
    assert "reason: host host-a stopped renewing at 20" in shown.output
    (project.path / "slow").unlink()
    again = project.run("--resume", env={"FLOWRUN_HOSTNAME": "host-b"})
    assert again.exit_code == 0, again.output
    assert again.status("flows/flow_slow.py::first") == "cached"
    assert again.result("flows/flow_slow.py::slow") == 2
    with again.storage() as store:
        assert [r.host for r in store.list_runs()] == ["host-b", "host-a"]


def test_a_host_whose_lease_was_taken_cannot_overwrite_newer_state(pg_url):
    from flowrun.testing import StorageSuite  # noqa: F401  (the contract's helpers)
    from flowrun.contract.storage import make_report, make_run

    gone = PostgresStorage(pg_url, {"lease_interval": 3600, "lease_timeout": 0.3})
    other = PostgresStorage(pg_url, {"lease_interval": 3600, "lease_timeout": 0.3})
    try:
        run = make_run("r00000000001")
        gone.run_started(run)
        time.sleep(0.5)
        assert other.get_run(run.id).status == "interrupted"
        gone.record(make_report(run, "late"))
        try:
            gone.flush()
            raise AssertionError("the stale host's write was taken")
        except Exception as exc:  # noqa: BLE001
            assert "declared interrupted by another host" in str(exc)
        assert other.attempts(run.id) == []
    finally:
        gone.close()
        other.close()


DUE_FLOW = """
    from flowrun import Flow, task
    flow = Flow(schedule="{minute} * * * *")

    @task
    def tick(context):
        return context.scheduled_for
"""


def test_three_hosts_running_due_together_run_each_slot_exactly_once(project, pg_url):
    flows, hours = 8, 2
    for i in range(flows):
        project.write(f"flows/flow_f{i}.py", DUE_FLOW.format(minute=i))
    project.write("flowrun.toml", f'[tool.flowrun]\nstore = "{pg_url}"\n')
    env = {k: v for k, v in os.environ.items() if k != "FLOWRUN_STORE"}
    for hour in range(hours):
        now = f"2026-12-07T{10 + hour:02d}:30:00+00:00"
        procs = [subprocess.Popen(flowrun_command("--due", "-q"), cwd=project.path,
                                  env={**env, "FLOWRUN_HOSTNAME": f"host-{h}",
                                       "FLOWRUN_NOW": now},
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                 for h in range(3)]
        for proc in procs:
            out = proc.communicate(timeout=60)[0].decode()
            assert proc.returncode == 0, out
    store = PostgresStorage(pg_url)
    try:
        runs = store.list_runs()
    finally:
        store.close()
    slots = Counter((run.flow_id, run.scheduled_for) for run in runs)
    assert len(slots) == flows * hours and set(slots.values()) == {1}
    assert all(run.status == "succeeded" for run in runs)


OVERLAPPING = """
    import pathlib, time
    from flowrun import Flow, task
    flow = Flow(schedule="*/10 * * * *", overlap={overlap!r})

    @task
    def slow():
        here = pathlib.Path(__file__).parent
        (here / "started").touch()
        while not (here / "go").exists():
            time.sleep(0.02)
"""


@pytest.mark.parametrize("overlap, later", [("skip", "skipped"), ("wait", "succeeded")])
def test_a_flows_overlap_policy_holds_across_hosts(project, pg_url, overlap, later):
    configure(project, pg_url)
    project.write("flows/flow_slow.py", OVERLAPPING.format(overlap=overlap))
    env = {k: v for k, v in os.environ.items() if k != "FLOWRUN_STORE"}

    def due(host: str, at: str) -> subprocess.Popen:
        return subprocess.Popen(flowrun_command("--due"), cwd=project.path,
                                env={**env, "FLOWRUN_HOSTNAME": host, "FLOWRUN_NOW": at},
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    first = due("host-a", "2026-11-22T06:00:30Z")
    wait_for(lambda: (project.path / "flows/started").exists(), 30)
    time.sleep(LEASE["lease_timeout"] + 0.5)  # a live host's pings keep its lock
    busy = due("host-b", "2026-11-22T06:10:30Z")  # 06:00 still runs on host-a
    assert busy.communicate(timeout=30)[0].decode() == "" and busy.returncode == 0
    (project.path / "flows/go").touch()
    out = first.communicate(timeout=30)[0].decode()
    assert first.returncode == 0, out
    third = due("host-c", "2026-11-22T06:11:00Z")
    out = third.communicate(timeout=30)[0].decode()
    assert third.returncode == 0, out
    store = PostgresStorage(pg_url)
    try:
        assert [status for _, status in store.slot_history("flows/flow_slow.py")] == [
            "succeeded", later]
        assert {run.host for run in store.list_runs()} <= {"host-a", "host-c"}
    finally:
        store.close()


@contextlib.contextmanager
def continued(proc: subprocess.Popen) -> Iterator[None]:
    """Continue the stopped host ``proc`` after the block; kill it if the block failed."""
    try:
        yield
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)  # ends a stopped process too
        proc.communicate()
        raise
    os.killpg(proc.pid, signal.SIGCONT)


def interrupted_elsewhere(url: str):
    """The one run, once another host's read declared it interrupted (reading sweeps; a
    transaction the stopped host left open is ended by the server after lease_timeout)."""
    store = PostgresStorage(url, LEASE)
    try:
        wait_for(lambda: store.list_runs()[0].status == "interrupted",
                 2 * LEASE["lease_timeout"] + 10)  # the timing is another test's
        (run,) = store.list_runs()
        return run
    finally:
        store.close()


def test_a_host_that_comes_back_after_its_lease_was_taken_stops_in_one_line(
        project, pg_url):
    configure(project, pg_url)
    project.write("flows/flow_slow.py", SLOW)
    (project.path / "slow").write_text("")
    proc = subprocess.Popen(flowrun_command("-q"), cwd=project.path, start_new_session=True,
                            env={**{k: v for k, v in os.environ.items()
                                    if k != "FLOWRUN_STORE"}, "FLOWRUN_HOSTNAME": "host-a"},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    wait_for(lambda: (project.path / "started").exists(), 30)
    os.killpg(proc.pid, signal.SIGSTOP)  # a host that hangs (or loses the network)
    with continued(proc):
        run = interrupted_elsewhere(pg_url)
        (project.path / "slow").unlink()
    out = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode == 2, out
    assert "Traceback" not in out and "s3cret" not in out
    assert f"ERROR: run {run.id} was declared interrupted by another host (host host-a " \
        "stopped renewing at 20" in out
    assert f"`flowrun --resume {run.id}` continues it" in out
    shown = project.run("show", run.id)
    assert shown.exit_code == 0 and "interrupted" in shown.output


#: flowconf.py of a host that hangs in the middle of writing to the store: the first time
#: psycopg dumps a string holding the marker (inside a flush's statement or COPY, after
#: the server has started reading it), the whole process stops, as a hung host would.
STALLING_FLOWCONF = """
    import os, signal
    import psycopg
    from psycopg.adapt import Dumper
    from psycopg.pq import Format

    class Stalling(Dumper):
        format = Format.TEXT
        stopped = False

        def dump(self, obj):
            if "stall-here" in obj and not Stalling.stopped:
                Stalling.stopped = True
                os.kill(os.getpid(), signal.SIGSTOP)
            return obj.encode()

    psycopg.adapters.register_dumper(str, Stalling)
"""
MANY = """
    from flowrun import task

    @task
    def items():
        return list(range({instances}))

    @task(each="items")
    def chatty(items):
        print("stall-here", items)
        return items
"""


def stopped(pid: int) -> bool:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rpartition(")")[2].split()[0] == "T"


@pytest.mark.parametrize("instances", [300, 3], ids=["copy", "statements"])
def test_a_host_that_hangs_midway_through_a_write_is_still_declared_interrupted(
        project, pg_url, instances):
    """No row lock a host needs for its lease is held across a pipeline or COPY the
    client stopped sending: the server ends a hung host's transaction after
    ``lease_timeout`` only between whole statements."""
    configure(project, pg_url)
    project.write("flowconf.py", STALLING_FLOWCONF)
    project.write("flows/flow_many.py", MANY.format(instances=instances))
    proc = project.popen("-q", env={"FLOWRUN_HOSTNAME": "host-a"}, start_new_session=True)
    with continued(proc):
        wait_for(lambda: stopped(proc.pid), 30)
        run = interrupted_elsewhere(pg_url)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, out + err
    assert "Traceback" not in out + err
    assert f"ERROR: run {run.id} was declared interrupted by another host (host host-a " \
        "stopped renewing at 20" in out + err
    project.write("flowconf.py", "")
    again = project.run("--resume", run.id, env={"FLOWRUN_HOSTNAME": "host-b"})
    assert again.exit_code == 0, again.output
    last = instances - 1
    assert again.result(f"flows/flow_many.py::chatty[{last}]") == last


def test_a_hung_due_host_lets_go_of_its_flow_within_its_lease(project, pg_url):
    """A hung process's machine still answers TCP keepalives: its lock connection is
    ended by the server's ``idle_session_timeout`` instead, so the next slot runs."""
    configure(project, pg_url)
    project.write("flows/flow_slow.py", OVERLAPPING.format(overlap="skip"))
    env = {k: v for k, v in os.environ.items() if k != "FLOWRUN_STORE"}

    def due(host: str, at: str) -> subprocess.Popen:
        return subprocess.Popen(flowrun_command("--due", "-q"), cwd=project.path,
                                env={**env, "FLOWRUN_HOSTNAME": host, "FLOWRUN_NOW": at},
                                start_new_session=True, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
    hung = due("host-a", "2026-11-22T06:00:30Z")
    wait_for(lambda: (project.path / "flows/started").exists(), 30)
    os.killpg(hung.pid, signal.SIGSTOP)
    with continued(hung):
        interrupted_elsewhere(pg_url)
        store = PostgresStorage(pg_url, LEASE)
        try:  # the hung host's flow lock is free
            wait_for(lambda: store.lock_flow("flows/flow_slow.py"), 10)
            store.unlock_flow("flows/flow_slow.py")
        finally:
            store.close()
        (project.path / "flows/go").touch()
        later = due("host-b", "2026-11-22T06:10:30Z")
        out = later.communicate(timeout=60)[0].decode()
        assert later.returncode == 0, out
    assert hung.communicate(timeout=60)[0].decode().startswith("ERROR: run ")
    store = PostgresStorage(pg_url)
    try:
        assert [status for _, status in store.slot_history("flows/flow_slow.py")] == [
            "interrupted", "succeeded"]
    finally:
        store.close()
