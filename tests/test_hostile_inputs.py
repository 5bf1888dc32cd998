"""A fuzzer in the suite: every hostile input of ``hostile_cases`` (flow files, config,
spec flows, flowconf.py, the command line) must end with exit 1, 4 or 5, output naming
the file or the option, no traceback from flowrun's own code, and no hang.

Cases that may hang or raise a signal run as real processes with a timeout; the rest run
in-process through the ``project`` fixture (much faster). The default run takes a fixed
sample spread over every category; ``-m slow`` runs the whole table.
"""
from __future__ import annotations

import pytest

import hostile_cases
from hostile_cases import Case, build, problems, run_subprocess

CASES = hostile_cases.all_cases()
#: Every 12th case, plus each category's first and each class's first: ~90 cases, about
#: 30 s.
FIRSTS = {id(next(x for x in CASES if x.category == c.category)) for c in CASES} \
    | {id(next(x for x in CASES if x.group == c.group)) for c in CASES if c.group}
SAMPLE = [c for i, c in enumerate(CASES) if i % 12 == 0 or id(c) in FIRSTS]


def _check(case: Case, project) -> None:
    build(case, project.path)
    if case.subprocess:
        code, output = run_subprocess(case, project.path, timeout=30)
        assert code is not None, f"{case.id}: no answer within 30 s:\n{output}"
    else:
        result = project.run(*case.args)
        code, output = result.exit_code, result.output
    found = problems(case, code, output)
    assert not found, f"{case.id}: {'; '.join(found)}\n--- output ---\n{output}"


def test_table_is_large_and_covers_every_kind_of_input():
    categories = {c.category for c in CASES}
    assert len(CASES) >= 300
    assert categories == {"flow file", "config", "spec flow", "flowconf.py", "command line"}
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", SAMPLE, ids=[c.id for c in SAMPLE])
def test_hostile_input_sample_gets_one_clear_error(case: Case, project) -> None:
    _check(case, project)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_hostile_input_gets_one_clear_error(case: Case, project) -> None:
    _check(case, project)  # the default run deselects slow tests: it takes the sample


# -- the promises behind the table, one by one ---------------------------------------------

GOOD = "from flowrun import task\n@task\ndef ok():\n    return 1\n"


def test_config_key_typo_is_a_usage_error_with_a_hint_before_anything_runs(project):
    project.write("flowrun.toml", "timout = 5\n")
    project.write("flows/flow_ok.py", GOOD)
    result = project.run()
    assert result.exit_code == 4
    assert "flowrun.toml: unknown key timout (did you mean 'timeout'?)" in result.output
    assert not project.store.exists()


def test_config_value_of_wrong_type_names_file_and_key(project):
    (project.path / "flowrun.toml").unlink()
    project.write("pyproject.toml", '[tool.flowrun]\nretries = "x"\n')
    project.write("flows/flow_ok.py", GOOD)
    result = project.run()
    assert result.exit_code == 4
    assert result.lines[-1].endswith(
        "pyproject.toml: [tool.flowrun] retries = 'x': expected a whole number >= 0 and "
        "<= 10000")


def test_plugin_tables_are_declared_by_their_plugin(project):
    project.write("flowrun.toml", '[dask]\naddress = "tcp://nowhere:1"\n[ssh]\nslots = 2\n')
    project.write("flows/flow_ok.py", GOOD)
    assert project.run().exit_code == 0


def test_bad_flow_option_is_a_collection_error_and_other_files_still_run(project):
    project.write("flows/flow_ok.py", GOOD)
    project.write("flows/flow_bad.py", """
        from flowrun import Flow, task
        flow = Flow(retryz=3)
        @task
        def a():
            return 1
    """)
    result = project.run()
    assert result.exit_code == 1
    assert "flows/flow_bad.py: unknown Flow option 'retryz' (did you mean 'retries'?)" \
        in result.output
    assert result.status("flows/flow_ok.py::ok") == "succeeded"


def test_nan_timeout_is_a_collection_error_not_a_hang(project):
    project.write("flows/flow_bad.py", """
        from flowrun import task
        @task(timeout=float("nan"))
        def a():
            return 1
    """)
    result = project.run()
    assert result.exit_code == 1
    assert "flows/flow_bad.py::a: bad option timeout=nan: expected seconds > 0" in result.output


def test_a_fifo_named_like_a_flow_is_a_collection_error_not_a_hang(project):
    import os

    project.write("flows/flow_ok.py", GOOD)
    os.mkfifo(project.path / "flows" / "flow_pipe.py")
    result = project.run_subprocess(timeout=30)
    assert result.exit_code == 1
    assert "flows/flow_pipe.py: not a regular file (a FIFO)" in result.output
    assert result.status("flows/flow_ok.py::ok") == "succeeded"


def test_a_hook_that_raises_names_the_plugin_and_the_hook(project):
    project.write("flowconf.py", """
        def flowrun_configure(config):
            raise ValueError("no database")
    """)
    project.write("flows/flow_ok.py", GOOD)
    result = project.run()
    assert result.exit_code == 4
    assert result.lines[-1] == ("ERROR: plugin flowconf.py: flowrun_configure raised "
                                "ValueError: no database")


def test_a_misspelt_hook_gets_a_hint(project):
    project.write("flowconf.py", "def flowrun_configur(config):\n    pass\n")
    result = project.run()
    assert result.exit_code == 4
    assert "plugin flowconf.py: unknown hook flowrun_configur (did you mean " \
           "flowrun_configure?)" in result.output


def test_collect_file_returning_no_list_of_flows_names_the_plugin(project):
    project.write("flowconf.py", """
        def flowrun_collect_file(path, config):
            return 5
    """)
    project.write("flows/flow_ok.py", GOOD)
    result = project.run()
    assert result.exit_code == 4
    assert "plugin flowconf.py: flowrun_collect_file returned 5: expected None or a " \
           "list of Flow objects" in result.output


def test_store_path_makes_its_own_folder_but_not_a_chain_of_them(project, tmp_path):
    project.write("flows/flow_ok.py", GOOD)
    made = project.run(f"--store={tmp_path / 'runs' / 'x.db'}")
    assert made.exit_code == 0 and (tmp_path / "runs" / "x.db").exists()
    typo = project.run(f"--store={tmp_path / 'no' / 'such' / 'x.db'}")
    assert typo.exit_code == 4
    assert f"the folder {tmp_path / 'no'} does not exist; create it first" in typo.output
    assert not (tmp_path / "no").exists()


def test_report_path_that_cannot_be_written_fails_before_running(project):
    project.write("flows/flow_ok.py", GOOD)
    result = project.run("--junitxml", "/")
    assert result.exit_code == 4
    assert result.lines[-1] == "ERROR: --junitxml '/': is a directory; name a file to write"
    assert not project.store.exists()


def test_a_failing_event_hook_leaves_the_run_recorded_and_then_fails(project):
    project.write("flowconf.py", """
        def flowrun_task_finish(task):
            raise RuntimeError("reporter down")
    """)
    project.write("flows/flow_ok.py", GOOD)
    result = project.run()
    assert result.exit_code == 4
    assert result.lines[-1] == ("ERROR: plugin flowconf.py: flowrun_task_finish raised "
                                "RuntimeError: reporter down")
    assert [run["status"] for run in result.runs()] == ["succeeded"]


def test_a_rootdir_whose_name_is_not_utf8_is_one_usage_error(tmp_path, monkeypatch):
    import os

    from flowrun.testing import Project

    monkeypatch.delenv("FLOWRUN_STORE", raising=False)
    root = Project(tmp_path / os.fsdecode(b"r\xff"))
    root.write("flowrun.toml", "")
    root.write("flows/flow_ok.py", GOOD)
    result = root.run()
    assert result.exit_code == 4
    assert result.lines[-1] == ("ERROR: rootdir " + str(tmp_path) + "/r\\xff: the path is not "
                                "valid UTF-8; rename the folder (flow ids and the store need "
                                "text paths)")


def test_a_thread_left_running_at_import_does_not_keep_flowrun_alive(project):
    import time

    project.write("flows/flow_t.py", """
        import threading, time
        from flowrun import task
        threading.Thread(target=time.sleep, args=(3600,)).start()
        @task
        def a():
            raise ValueError("boom")
    """)
    started = time.monotonic()
    result = project.run_subprocess(timeout=30)
    assert time.monotonic() - started < 15
    assert result.exit_code == 1  # the run's own exit code
    assert result.lines[-1] == (
        "WARNING: flows/flow_t.py left a thread running (Thread-1 (sleep)); flowrun exits "
        "without waiting for it: join it or make it a daemon thread")
