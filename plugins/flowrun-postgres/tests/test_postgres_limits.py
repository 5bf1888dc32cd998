"""Concurrency limits on a shared store: a group's slots are shared by every host's
runs (separate ``flowrun`` processes), and a killed host's slots come back when its
lease lapses."""
from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from flowrun.testing import flowrun_command
from flowrun_postgres.store import PostgresStorage

pytestmark = pytest.mark.slow  # several hosts against one server: CI's slow job runs it

DB_FLOW = """
    import os, time
    from flowrun import task

    @task(limit="db", each={"item": [0, 1, 2]})
    def query(item):
        start = time.time()
        time.sleep(0.15)
        with open("spans", "a") as spans:  # one short append: whole lines
            spans.write(f"{os.environ['FLOWRUN_HOSTNAME']} {start} {time.time()}\\n")
        return item
"""
LEASE = {"lease_interval": 0.2, "lease_timeout": 1.0}


def configure(project, url: str, db: int = 1) -> None:
    project.write("flowrun.toml", f'[tool.flowrun]\nstore = "{url}"\n' + "".join(
        f"{key} = {value}\n" for key, value in LEASE.items()) +
        f"[tool.flowrun.limits]\ndb = {db}\n")


def host(project, name: str, *argv: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "FLOWRUN_STORE"}
    return subprocess.Popen(flowrun_command(*argv), cwd=project.path, start_new_session=True,
                            env={**env, "FLOWRUN_HOSTNAME": name},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_a_groups_slots_are_shared_by_every_hosts_runs(project, pg_url):
    configure(project, pg_url, db=1)
    project.write("flows/flow_db.py", DB_FLOW)
    procs = [host(project, f"host-{h}", "-q", "-n", "4") for h in range(3)]
    for proc in procs:
        out = proc.communicate(timeout=60)[0].decode()
        assert proc.returncode == 0, out
    spans = sorted(tuple(map(float, line.split()[1:]))
                   for line in (project.path / "spans").read_text().splitlines())
    assert len(spans) == 9
    assert all(end <= next_start for (_, end), (next_start, _) in zip(spans, spans[1:]))
    store = PostgresStorage(pg_url)
    try:
        assert store.limits_held() == {}  # every run gave its slots back
    finally:
        store.close()


HOLD_FLOW = """
    import os, time
    from flowrun import task

    @task(limit="db")
    def hold():
        open("holding", "w").close()
        while os.path.exists("hold"):
            time.sleep(0.05)
"""


def test_a_killed_hosts_slot_comes_back_when_its_lease_lapses(project, pg_url):
    configure(project, pg_url, db=1)
    project.write("flows/flow_db.py", HOLD_FLOW)
    (project.path / "hold").write_text("")
    held = host(project, "host-a", "-q")
    deadline = time.monotonic() + 30
    while not (project.path / "holding").exists():
        assert time.monotonic() < deadline and held.poll() is None, "host-a never started"
        time.sleep(0.05)
    os.killpg(held.pid, signal.SIGKILL)
    held.communicate()
    (project.path / "hold").unlink()
    start = time.monotonic()
    other = host(project, "host-b", "-q")  # waits for the slot, then runs
    out = other.communicate(timeout=30)[0].decode()
    assert other.returncode == 0, out
    assert time.monotonic() - start >= LEASE["lease_timeout"] - 0.5  # it had to wait
