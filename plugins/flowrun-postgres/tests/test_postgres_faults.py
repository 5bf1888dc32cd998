"""The database goes away mid-run: tasks go on, what they record waits in memory and is
written on reconnect; past ``reconnect_timeout`` the run stops interrupted."""
from __future__ import annotations

import time

import pytest

from flowrun_postgres.store import PostgresStorage

pytestmark = pytest.mark.slow  # a server stopped and started mid-run: CI's slow job runs it

FLOW = """
    import os, time
    from flowrun import task

    @task
    def a():
        return 1

    @task
    def b(a):
        open("started", "w").close()
        while not os.path.exists("go"):
            time.sleep(0.05)
        return a + 1

    @task
    def c(b):
        open("c-done", "w").close()
        return b + 1
"""


def start(project, url: str, **settings: float):
    project.write("flowrun.toml", f'[tool.flowrun]\nstore = "{url}"\n' + "".join(
        f"{key} = {value}\n" for key, value in settings.items()))
    project.write("flows/flow_x.py", FLOW)
    proc = project.popen("-q")
    deadline = time.monotonic() + 30
    while not (project.path / "started").exists():
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    return proc


def test_a_database_restart_mid_run_loses_nothing(project, pg_cluster, pg_url):
    proc = start(project, pg_url, lease_interval=0.2)
    pg_cluster.restart()
    (project.path / "go").write_text("")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, out + err
    store = PostgresStorage(pg_url)
    try:
        (run,) = store.list_runs()
        final = {a.task_id.rpartition("::")[2]: a.status for a in store.attempts(run.id)}
    finally:
        store.close()
    assert run.status == "succeeded"
    assert final == {"a": "succeeded", "b": "succeeded", "c": "succeeded"}


def test_a_database_gone_past_reconnect_timeout_stops_the_run_interrupted(
        project, pg_cluster, pg_url):
    proc = start(project, pg_url, reconnect_timeout=1)
    pg_cluster.stop()
    try:
        (project.path / "go").write_text("")
        out, err = proc.communicate(timeout=60)
    finally:
        pg_cluster.start()
    text = out + err
    assert proc.returncode == 2, text
    assert "Traceback" not in text and "s3cret" not in text
    lines = [line for line in text.splitlines() if "gave up after 1 s" in line]
    assert len(lines) == 1 and "--resume" in lines[0]


def test_tasks_go_on_while_the_database_is_away_and_are_recorded_when_it_is_back(
        project, pg_cluster, pg_url):
    proc = start(project, pg_url, lease_interval=0.2, reconnect_timeout=30)
    pg_cluster.stop()
    try:
        (project.path / "go").write_text("")
        deadline = time.monotonic() + 30  # b and c finish; their records wait in memory
        while not (project.path / "c-done").exists():
            assert time.monotonic() < deadline, "the tasks stopped with the database"
            time.sleep(0.05)
        time.sleep(0.3)  # flushes fail meanwhile
        assert proc.poll() is None
    finally:
        pg_cluster.start()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, out + err
    store = PostgresStorage(pg_url)
    try:
        (run,) = store.list_runs()
        final = {a.task_id.rpartition("::")[2]: (a.status, a.finished is not None)
                 for a in store.attempts(run.id)}
    finally:
        store.close()
    assert run.status == "succeeded"
    assert final == {name: ("succeeded", True) for name in "abc"}
