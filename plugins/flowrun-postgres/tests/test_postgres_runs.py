"""End to end on a real PostgreSQL server: real ``flowrun`` commands with
``--store postgresql://...`` (or ``FLOWRUN_STORE``), as a user on any host runs them."""
from __future__ import annotations

import os
import subprocess

import psycopg

from flowrun.testing import flowrun_command
from flowrun_postgres.schema import SCHEMA_VERSION
from flowrun_postgres.store import PostgresStorage


def cli(project, *args: str) -> tuple[int, str]:
    """A real ``flowrun`` process in the project: (exit code, stdout and stderr)."""
    env = {k: v for k, v in os.environ.items() if k != "FLOWRUN_STORE"}
    proc = subprocess.run(flowrun_command(*args), cwd=project.path, env=env,
                          capture_output=True, text=True, timeout=60)
    return proc.returncode, proc.stdout + proc.stderr

FLOW = """
    import os
    from flowrun import task

    @task
    def extract(context):
        print("extracting")
        context.state["seen"] = context.state.get("seen", 0) + 1
        return list(range(3))

    @task(run_key=lambda extract: "k" + str(len(extract)))
    def keyed(extract):
        return sum(extract)

    @task
    def load(extract):
        if not os.path.exists("ok"):
            raise ValueError("not yet")
        return len(extract)
"""


def test_a_run_is_listed_shown_logged_and_resumed_from_postgres(project, pg_url):
    project.write("flows/flow_etl.py", FLOW)
    first = project.run("--store", pg_url)
    assert first.exit_code == 1
    assert first.status("flows/flow_etl.py::extract") == "succeeded"
    assert first.status("flows/flow_etl.py::load") == "failed"
    history = project.run("history", "--store", pg_url)
    assert history.exit_code == 0 and "flows/flow_etl.py" in history.output
    run_id = first.new_runs()[0]["id"]
    shown = project.run("show", run_id, "--store", pg_url)
    assert shown.exit_code == 0 and "load" in shown.output and "failed" in shown.output
    logs = project.run("logs", run_id, "flows/flow_etl.py::extract", "--store", pg_url)
    assert "extracting" in logs.output
    (project.path / "ok").write_text("")
    again = project.run("--resume", "--store", pg_url)
    assert again.exit_code == 0, again.output
    assert again.status("flows/flow_etl.py::extract") == "cached"
    assert again.status("flows/flow_etl.py::keyed") == "cached"
    assert again.result("flows/flow_etl.py::load") == 3


def test_state_and_run_keys_carry_across_runs_and_the_environment_names_the_store(
        project, pg_url):
    project.write("flows/flow_etl.py", FLOW)
    (project.path / "ok").write_text("")
    env = {"FLOWRUN_STORE": pg_url}
    assert project.run(env=env).exit_code == 0
    second = project.run("-v", env=env)
    assert second.exit_code == 0
    assert second.status("flows/flow_etl.py::keyed") == "cached"
    with second.storage() as store:
        assert store.get_state("flows/flow_etl.py")["seen"][0] == b"2"


def test_postgres_scheme_alias_and_the_config_key(project, pg_url):
    project.write("flows/flow_etl.py", FLOW)
    (project.path / "ok").write_text("")
    alias = "postgres://" + pg_url.partition("://")[2]
    project.write("flowrun.toml", f'[tool.flowrun]\nstore = "{alias}"\n')
    assert project.run().exit_code == 0
    listed = project.run("history", "--json")
    assert listed.exit_code == 0 and '"flows/flow_etl.py"' in listed.output


def test_a_wrong_password_is_one_line_that_never_shows_it(project, pg_cluster):
    project.write("flows/flow_etl.py", FLOW)
    url = pg_cluster.url(password="Wrong-Secret-77")
    for args in ((), ("history",)):
        code, text = cli(project, *args, "--store", url)
        assert code == 1, text
        assert "Wrong-Secret-77" not in text
        assert "Traceback" not in text
        lines = [line for line in text.splitlines() if "cannot connect" in line]
        assert len(lines) == 1 and "password authentication failed" in lines[0]
        assert "postgres:***@127.0.0.1" in lines[0]


def test_an_unreachable_server_is_one_line(project):
    project.write("flows/flow_etl.py", FLOW)
    code, text = cli(project, "show", "abc", "--store", "postgresql://u:pw-123@127.0.0.1:9/db")
    assert code == 1 and "Traceback" not in text and "pw-123" not in text
    assert "cannot connect to the store postgresql://u:***@127.0.0.1:9/db" in text


def test_a_store_written_by_a_newer_flowrun_is_refused(project, pg_url):
    project.write("flows/flow_etl.py", FLOW)
    assert project.run("history", "--store", pg_url).exit_code == 0  # creates it
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE flowrun_schema SET version = 99")  # the file format
    code, text = cli(project, "history", "--store", pg_url)
    assert code == 1 and "Traceback" not in text
    assert f"written by a newer flowrun (schema 99, this one knows {SCHEMA_VERSION})" in text


#: What the migrations after schema 1 add (dropped to make a store as schema 1 left it).
LATER_TABLES = ("flowrun_limits", "flowrun_paused", "flowrun_fingerprints",
                "flowrun_notifications", "flowrun_missed")


def test_a_store_of_an_older_schema_is_migrated_forward(project, pg_url):
    project.write("flows/flow_etl.py", FLOW)
    (project.path / "ok").write_text("")
    assert project.run("--store", pg_url).exit_code == 0
    with psycopg.connect(pg_url, autocommit=True) as conn:  # as schema 1 left it
        for table in LATER_TABLES:
            conn.execute(f"DROP TABLE {table}")  # the file format
        conn.execute("ALTER TABLE flowrun_runs DROP COLUMN trace_id")  # the file format
        conn.execute("DROP FUNCTION flowrun_log_words CASCADE")  # the file format
        conn.execute("UPDATE flowrun_schema SET version = 1")  # the file format
    listed = project.run("history", "--store", pg_url)
    assert listed.exit_code == 0 and "flows/flow_etl.py" in listed.output
    with psycopg.connect(pg_url, autocommit=True) as conn:
        version = conn.execute("SELECT version FROM flowrun_schema")  # the file format
        assert version.fetchone() == (SCHEMA_VERSION,)
    store = PostgresStorage(pg_url)
    try:
        assert store.take_limits("r00000000001", {"db": 1})  # its table is back
    finally:
        store.close()


def test_a_lease_timeout_not_longer_than_its_interval_is_a_usage_error(project, pg_url):
    project.write("flows/flow_etl.py", FLOW)
    project.write("flowrun.toml", f'[tool.flowrun]\nstore = "{pg_url}"\n'
                  "lease_interval = 5\nlease_timeout = 5\n")
    code, text = cli(project, "history")
    assert code == 4 and "Traceback" not in text and "s3cret" not in text
    assert "flowrun.toml: lease_timeout (5) must be longer than lease_interval (5)" in text


BIG = """
    import os
    from flowrun import task

    @task(executor="process")
    def big():
        return os.urandom(16) * (1 << 20)  # 16 MiB

    @task
    def size(big):
        if not os.path.exists("ok"):
            raise ValueError("not yet")
        return len(big)
"""


def test_a_large_result_is_kept_in_the_database_and_resumed_on_another_host(
        project, pg_url):
    project.write("flows/flow_big.py", BIG)
    env = {"FLOWRUN_STORE": pg_url}
    first = project.run(env={**env, "FLOWRUN_HOSTNAME": "host-a"})
    assert first.exit_code == 1 and first.status("flows/flow_big.py::big") == "succeeded"
    (project.path / "ok").write_text("")
    again = project.run("--resume", env={**env, "FLOWRUN_HOSTNAME": "host-b"})
    assert again.exit_code == 0, again.output
    assert again.status("flows/flow_big.py::big") == "cached"
    assert again.result("flows/flow_big.py::size") == 16 << 20
