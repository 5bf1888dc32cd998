"""What tools over the store (``flowrun ui``) rely on: runs record their process, a run
whose process died reads interrupted, a caller may choose the run id, the store says
what changed since a cursor, and ``flowrun catalog`` lists flows as JSON."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import time

from flowrun.plugin import LiveStore
from flowrun.storage import sqlite_schema
from flowrun.storage.sqlite import SqliteStorage

SLEEPY = """
    import time
    from flowrun import task
    @task
    def nap():
        time.sleep(30)
"""


def test_flowrun_run_id_names_the_run_and_is_not_passed_on(project):
    project.write("flows/flow_a.py", """
        import os
        from flowrun import task
        @task
        def t():
            return os.environ.get("FLOWRUN_RUN_ID")
    """)
    result = project.run_subprocess("-q", env={"FLOWRUN_RUN_ID": "chosen-1"})
    assert result.runs()[-1]["id"] == "chosen-1"
    assert result.result("flows/flow_a.py::t") is None


def test_a_bad_flowrun_run_id_is_a_usage_error(project):
    project.write("flows/flow_a.py", "from flowrun import task\n@task\ndef t(): pass\n")
    result = project.run_subprocess("-q", env={"FLOWRUN_RUN_ID": "no spaces!"})
    assert result.exit_code == 4 and "FLOWRUN_RUN_ID" in result.output


def test_history_and_show_read_a_killed_run_as_interrupted(project):
    project.write("flows/flow_s.py", SLEEPY)
    proc = project.popen()
    deadline = time.time() + 30
    while not (project.store.exists() and _running(project)):
        assert time.time() < deadline, "the run never started"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    (run_id, pid, host), = _running(project)
    assert pid == proc.pid and host == os.uname().nodename
    assert "interrupted" in project.run("history").output
    assert "interrupted" in project.run("show", run_id).output


def _running(project) -> list[tuple]:
    """Runs recorded, with the process that runs them (read through the interface)."""
    with project.storage() as store:
        return [] if store is None else [(r.id, r.pid, r.host) for r in store.list_runs()]


def test_a_store_of_schema_3_gains_pid_and_host(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for step in sqlite_schema.MIGRATIONS[:3]:
        step(conn)
    conn.execute("INSERT INTO runs (id, flow, status, started) VALUES ('old', 'f.py', "  # the file format
                 "'failed', 1.0)")
    conn.execute("PRAGMA user_version=3")
    conn.commit()
    conn.close()
    store = SqliteStorage(str(path))
    run = store.get_run("old")
    assert run.status == "failed" and run.pid is None and run.host is None
    store.close()


def test_changes_since_a_cursor_show_what_another_connection_wrote(tmp_path, project):
    project.write("flows/flow_a.py", "from flowrun import task\n@task\ndef t(): pass\n")
    project.run("-q")
    watcher = SqliteStorage(str(project.store))
    assert isinstance(watcher, LiveStore)
    cursor, runs, reports = watcher.changes(None)
    assert (runs, reports) == ([], [])
    assert watcher.changes(cursor)[1:] == ([], [])  # nothing committed since
    new = project.run("-q").runs()[-1]["id"]
    cursor, runs, reports = watcher.changes(cursor)
    assert [r.id for r in runs] == [new] and runs[0].status == "succeeded"
    assert [(r.task_id, r.status) for r in reports if r.run_id == new] == [
        ("flows/flow_a.py::t", "succeeded")]  # (the newest row seen before may come again)
    assert watcher.changes(cursor)[1:] == ([], [])
    older = watcher.runs_page(limit=10, before=new)
    assert new not in [r.id for r in older] and len(older) == 1
    watcher.close()


def test_catalog_command_lists_flows_with_typed_params_and_collection_errors(project):
    project.write("flows/flow_a.py", """
        from flowrun import Flow, task
        flow = Flow(schedule="*/5 * * * *", tags=["x"], partitions=["eu", "us"])
        @task
        def a(day: str = "mon", n: int = 2, on: bool = True): pass
        @task(each="a")
        def b(a): pass
    """)
    project.write("flows/flow_bad.py", "from flowrun import task\n@task\ndef c(nope): pass\n")
    result = project.run("catalog")
    rows = {row["id"]: row for row in json.loads(result.output)}
    good = rows["flows/flow_a.py"]
    assert [(p["name"], p["type"], p["default"]) for p in good["params"]] == [
        ("day", "str", "mon"), ("n", "int", 2), ("on", "bool", True)]
    assert good["tags"] == ["x"] and good["next_due"].endswith("+00:00")
    assert [t["mapped"] for t in good["tasks"]] == [False, True]
    assert good["partitions"]["keys"] == [["eu", "us"]]
    assert "nope" in rows["flows/flow_bad.py"]["error"]
    keys = project.run("catalog", "flows/flow_a.py", "--keys", "..")
    assert json.loads(keys.output) == ["eu", "us"]


def test_changes_see_the_newest_attempt_rewritten_in_place(tmp_path):
    """INSERT OR REPLACE of the newest row keeps its rowid: still seen as changed."""
    from flowrun.plugin import Report, Run

    path = str(tmp_path / "s.db")
    writer, watcher = SqliteStorage(path), SqliteStorage(path)
    writer.run_started(Run(id="r1", flow_id="f.py", started=1.0))
    report = Report(run_id="r1", flow_id="f.py", task_id="f.py::t", attempt=1,
                    status="running", started=2.0)
    writer.record(report)
    writer.flush()
    cursor, _, _ = watcher.changes(None)
    report.status, report.finished = "succeeded", 3.0
    writer.record(report)
    writer.flush()
    cursor, runs, reports = watcher.changes(cursor)
    assert [(r.task_id, r.status) for r in reports] == [("f.py::t", "succeeded")]
    assert [r.id for r in runs] == ["r1"]
    writer.close()
    watcher.close()


def test_a_new_store_is_a_wal_store_written_with_normal_sync(tmp_path):
    """A fresh file is created without the fsyncs that guard existing data; what is then
    recorded is written with the same settings as on any store."""
    path = tmp_path / "new.db"
    store = SqliteStorage(str(path))
    conn = store.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("PRAGMA user_version").fetchone()[0] == sqlite_schema.SCHEMA_VERSION
    store.close()
    assert not os.path.exists(f"{path}-wal")  # closed cleanly: everything is in the file
    again = SqliteStorage(str(path))
    assert again.conn.execute("PRAGMA synchronous").fetchone()[0] == 1
    assert again.list_runs() == []
    again.close()

