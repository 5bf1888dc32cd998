"""Options of ``flowrun`` and its store commands that no other test ran end to end
(``tests/test_command_tree.py`` finds them): each one's behaviour, on a real store.
"""
from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from flowrun import schemas

FLOWS = {
    "flows/flow_ok.py": """
        from flowrun import task
        @task(tags=["nightly"])
        def extract(day: str = "mon"):
            print("extracting", day)
            return day
        @task
        def load(extract):
            return extract
    """,
    "flows/flow_bad.py": """
        from flowrun import task
        @task
        def fails():
            raise ValueError("boom")
    """,
}
NOW = {"FLOWRUN_NOW": "2026-11-22T06:30:00Z"}


@pytest.fixture
def elsewhere(project):
    """A project whose two runs (one failed, then one succeeded) are in a store outside
    the default place: every store command must be given ``--store`` to see them."""
    for path, text in FLOWS.items():
        project.write(path, text)
    store = str(project.path / "elsewhere.db")
    failed = project.run("--store", store, "flows/flow_bad.py")
    ok = project.run("--store", store, "flows/flow_ok.py")
    assert (failed.exit_code, ok.exit_code) == (1, 0), failed.output + ok.output
    (failed_id,) = [r["id"] for r in failed.new_runs()]
    (ok_id,) = [r["id"] for r in ok.new_runs()]
    return project, store, failed_id, ok_id


def test_history_filters_by_status_and_limits_from_the_given_store(elsewhere):
    project, store, failed_id, ok_id = elsewhere
    assert project.run("history").stdout.strip() == "no runs yet"  # the default store
    def ids(*args):
        return [r["id"] for r in json.loads(project.run("history", "--store", store,
                                                        "--json", *args).stdout)]
    assert ids() == [ok_id, failed_id]
    assert ids("--status", "failed") == [failed_id]
    assert ids("--status", "succeeded") == [ok_id]
    assert ids("--limit", "1") == [ok_id]


def test_show_and_logs_read_the_given_store(elsewhere):
    project, store, failed_id, ok_id = elsewhere
    shown = project.run("show", ok_id, "--store", store)
    assert shown.exit_code == 0 and f"run {ok_id}  flows/flow_ok.py  succeeded" in shown.stdout
    logs = project.run("logs", ok_id, "extract", "--store", store)
    assert logs.exit_code == 0 and "extracting mon" in logs.stdout
    missing = project.run("show", ok_id)  # not in the default store
    assert missing.exit_code == 1 and f"no run {ok_id!r}" in missing.stderr


def test_graph_shows_the_statuses_of_a_run_in_the_given_store(elsewhere):
    project, store, failed_id, _ = elsewhere
    result = project.run("graph", "flows/flow_bad.py", "--run", failed_id, "--store", store)
    assert result.exit_code == 0, result.output
    assert "fails  [failed]" in result.stdout


def test_explain_selects_with_k_and_m_and_compares_params_in_the_given_store(elsewhere):
    project, store, _, ok_id = elsewhere
    def verdicts(*args):
        result = project.run("explain", "--store", store, "--json", *args)
        return {fid: {v["task"]: v["reasons"] for v in vs}
                for fid, vs in json.loads(result.stdout).items() if fid != "schema"}
    assert set(verdicts("-k", "ok")) == {"flows/flow_ok.py"}
    assert {fid: set(tasks) for fid, tasks in verdicts("-m", "nightly").items()} == {
        "flows/flow_ok.py": {"extract"}}
    changed = verdicts("-k", "ok", "--param", "day=tue")["flows/flow_ok.py"]["extract"]
    assert "parameter day changed: 'mon' -> 'tue'" in changed
    unchanged = verdicts("-k", "ok")["flows/flow_ok.py"]["extract"]
    assert f"unchanged since last success (run {ok_id})" in unchanged


def test_schedule_and_partitions_read_the_given_store(project):
    project.write("flows/flow_daily.py", """
        from flowrun import Flow, task
        flow = Flow(schedule="0 6 * * *", partitions={"daily": "2026-11-01"})
        @task
        def load(partition):
            return partition
    """)
    store = str(project.path / "elsewhere.db")
    due = project.run("--due", "--store", store, env=NOW)
    assert due.exit_code == 0, due.output
    rows = json.loads(project.run("schedule", "--json", "--store", store, env=NOW).stdout)
    assert rows[0]["last"] == "2026-11-22 06:00 UTC" and rows[0]["last_status"] == "succeeded"
    Draft202012Validator(schemas.load("schedule")).validate(rows)
    assert json.loads(project.run("schedule", "--json", env=NOW).stdout)[0]["last"] is None
    grid = project.run("partitions", "flows/flow_daily.py", "--store", store, "--last", "3",
                       env=NOW)
    assert grid.exit_code == 0, grid.output
    assert [line.split()[0] for line in grid.stdout.splitlines()[2:5]] == [
        "2026-11-20", "2026-11-21", "2026-11-22"]
    assert grid.stdout.splitlines()[4].split()[1] == "ok"
    assert "3 partitions: 2 missing, 1 succeeded" in grid.stdout


def test_cron_line_appends_to_the_given_log_or_to_none(project):
    logged = project.run("cron", "--log", "logs/flowrun.log").stdout
    assert f">> {project.path}/logs/flowrun.log 2>&1" in logged
    bare = project.run("cron", "--no-log").stdout.splitlines()[-1]
    assert bare.endswith("-m flowrun --due") and ">>" not in bare


def test_retries_option_gives_every_task_more_attempts(project):
    project.write("flows/flow_flaky.py", """
        import os
        from flowrun import task
        @task
        def flaky():
            if not os.path.exists("tried"):
                open("tried", "w").close()
                raise RuntimeError("first attempt fails")
    """)
    result = project.run("--retries", "1")
    assert result.exit_code == 0, result.output
    assert result.attempts("flows/flow_flaky.py::flaky") == 2


def test_timeout_option_stops_a_task_that_runs_too_long(project):
    project.write("flows/flow_slow.py", """
        import time
        from flowrun import task
        @task
        def slow():
            time.sleep(3)
    """)
    result = project.run("--timeout", "0.2", "--executor", "process")
    assert result.exit_code == 1
    assert "timed out after 0.2s" in result.output


def test_graph_output_option_writes_the_file_instead_of_stdout(elsewhere):
    project, _, _, _ = elsewhere
    result = project.run("graph", "flows/flow_ok.py", "--format", "json",
                         "--output", "out/graph.json")
    assert result.exit_code == 0 and result.stdout == ""
    written = json.loads((project.path / "out/graph.json").read_text())
    assert written["schema"] == "graph/1" and set(written["graph"]["tasks"]) == {
        "ROOT", "extract", "load"}
