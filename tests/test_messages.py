"""Messages a new user understands: one line naming what, where and what to do, a
"did you mean" where one fits, pytest's exit code, and never a password."""
from __future__ import annotations

import pytest

from flowrun.errors import redact_url

FLOW = """
    from flowrun import task
    @task
    def total():
        return 1
"""


def _stderr_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def test_unknown_executor_suggests_the_close_one(project):
    project.write("flows/flow_x.py", FLOW)
    result = project.run("--executor", "proces")
    assert result.exit_code == 4
    assert _stderr_lines(result) == [
        "ERROR: unknown executor 'proces' (did you mean 'process'?) (available: dask, "
        "process, ssh, thread)"]


def test_unknown_task_in_a_node_id_names_the_file_and_suggests(project):
    project.write("flows/flow_x.py", FLOW)
    result = project.run("flows/flow_x.py::totalz")
    assert result.exit_code == 4
    assert _stderr_lines(result) == [
        "ERROR: not found: flows/flow_x.py::totalz: flows/flow_x.py has no task 'totalz' "
        "(did you mean 'total'?)"]


def test_unknown_task_keyword_is_a_collection_error_with_a_suggestion(project):
    project.write("flows/flow_x.py", """
        from flowrun import task
        @task(retry=2)
        def total():
            return 1
    """)
    result = project.run()
    assert result.exit_code == 1
    line = "flows/flow_x.py::total: unknown @task option 'retry' (did you mean 'retries'?)"
    assert f"E   {line}" in result.lines
    assert "TypeError" not in result.output and "Traceback" not in result.output


def test_unknown_flow_keyword_is_a_collection_error_with_a_suggestion(project):
    project.write("flows/flow_x.py", """
        from flowrun import Flow, task
        flow = Flow(fail_fst=True)
        @task
        def total():
            return 1
    """)
    result = project.run()
    assert result.exit_code == 1
    assert "E   flows/flow_x.py: unknown Flow option 'fail_fst' (did you mean " \
        "'fail_fast'?)" in result.lines


@pytest.mark.parametrize("url, shown", [
    ("postgresql://u:secret@h/db", "postgresql://u:***@h/db"),
    ("postgres://u@h:5432/db", "postgres://u@h:5432/db"),
    ("postgresql://h/db?user=u&password=secret", "postgresql://h/db?user=u&password=***"),
    ("postgresql://u:secret@[::1", "postgresql://u:***@[::1"),
    ("postgresql://u:se/cr@et@h/db", "postgresql://u:***@h/db"),
    ("sqlite:////tmp/runs.db", "sqlite:////tmp/runs.db"),
    ("memory:", "memory:"),
])
def test_redact_url_hides_only_the_password(url, shown):
    assert redact_url(url) == shown


#: A store no installed plugin handles (flowrun-postgres takes postgresql://; its own
#: tests check its messages hide the password too).
SECRET_URL = "mysql://u:secret@h/db"


@pytest.mark.parametrize("command", [(), ("history",), ("show", "abc"), ("logs", "abc"),
                                     ("explain",)])
@pytest.mark.parametrize("how", ["option", "env"])
def test_a_store_password_is_never_printed(project, command, how):
    project.write("flows/flow_x.py", FLOW)
    if how == "option":
        result = project.run(*command, "--store", SECRET_URL)
    else:
        result = project.run(*command, env={"FLOWRUN_STORE": SECRET_URL})
    assert result.exit_code == 4
    assert "secret" not in result.output
    assert "ERROR: no store plugin handles 'mysql://u:***@h/db' (try sqlite:///PATH " \
        "or memory:, or install the plugin of that store)" in result.lines


def test_ui_with_an_unknown_store_fails_at_start_without_the_password(project):
    proc = project.popen("ui", "--port", "0", env={"FLOWRUN_STORE": SECRET_URL})
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 4
    assert "secret" not in stdout + stderr
    assert [line for line in stderr.splitlines() if line.strip()] == [
        "ERROR: no store plugin handles 'mysql://u:***@h/db' (try sqlite:///PATH or "
        "memory:, or install the plugin of that store)"]


@pytest.mark.parametrize("toml, line", [
    ("[tool.flowrun.dask]\nn_worker = 3\n",
     "unknown key [tool.flowrun.dask] n_worker (did you mean 'n_workers'?)"),
    ("[tool.flowrun.dask]\nprocesses = 'yes'\n",
     "[tool.flowrun.dask] processes = 'yes': expected true or false"),
    ("[tool.flowrun.ssh]\nslot = 2\n",
     "unknown key [tool.flowrun.ssh] slot (did you mean 'slots'?)"),
    ("[tool.flowrun.ssh]\nconnect_timeout = 'soon'\n",
     "[tool.flowrun.ssh] connect_timeout = 'soon': expected a whole number >= 1 and <= 3600"),
    ("[tool.flowrun]\ndask = 3\n",
     "[tool.flowrun] dask = 3: expected a table ([tool.flowrun.dask])"),
])
@pytest.mark.parametrize("command", [(), ("history",)])
def test_plugin_tables_are_checked_whatever_the_executor(project, toml, line, command):
    (project.path / "flowrun.toml").unlink()
    project.write("pyproject.toml", toml)
    project.write("flows/flow_x.py", FLOW)
    result = project.run(*command)  # the thread executor: neither ssh nor dask is made
    assert result.exit_code == 4
    assert _stderr_lines(result) == [f"ERROR: {project.path / 'pyproject.toml'}: {line}"]
    assert not (project.path / ".flowrun").exists()  # nothing ran, no store was made


def test_a_third_party_table_is_checked_by_its_declared_keys(project):
    project.write("flowconf.py", """
        from flowrun import hookimpl
        @hookimpl
        def flowrun_addoption(parser):
            parser.addini("mine", "[tool.flowrun.mine]", keys={
                "url": "name", "retries": {"kind": "int", "minimum": 0}})
    """)
    project.write("flows/flow_x.py", FLOW)
    (project.path / "flowrun.toml").unlink()
    project.write("pyproject.toml", "[tool.flowrun.mine]\nurl = 'x'\nretry = 1\n")
    result = project.run()
    assert result.exit_code == 4
    assert _stderr_lines(result) == [
        f"ERROR: {project.path / 'pyproject.toml'}: unknown key [tool.flowrun.mine] retry "
        "(did you mean 'retries'?)"]
    project.write("pyproject.toml", "[tool.flowrun.mine]\nurl = 'x'\nretries = 1\n")
    assert project.run().exit_code == 0


def test_due_names_the_slot_in_the_run_line_history_and_show(project):
    project.write("flows/flow_x.py", """
        from flowrun import Flow, task
        flow = Flow(schedule="0 6 * * *", partitions=["eu"])
        @task
        def total(partition):
            return partition
    """)
    result = project.run("--due", env={"FLOWRUN_NOW": "2026-12-07T06:30:00+00:00"})
    assert result.exit_code == 0, result.output
    slot = "2026-12-07T06:00:00+00:00"
    assert any(line.startswith(f"flows/flow_x.py slot {slot} [partition eu] .")
               for line in result.lines), result.output
    run_id = result.new_runs()[0]["id"]
    history = project.run("history").lines
    assert history[0].split()[:4] == ["RUN", "FLOW", "SLOT", "PARTITION"]
    assert history[1].split()[:4] == [run_id, "flows/flow_x.py", slot, "eu"]
    shown = project.run("show", run_id).lines[0]
    assert shown.startswith(f"run {run_id}  flows/flow_x.py  succeeded  slot {slot}  "
                            "partition eu  started ")
