"""A run that fails before its first task (a bad ``--param``, a flow that no longer
collects on ``--resume``) is still recorded ``failed`` with its error, and the command's
exit code is what it was."""
from __future__ import annotations

import json

FLOW = """
    from flowrun import task
    @task
    def a(n: int = 1):
        return n
    @task
    def b(a):
        if a == 1:
            raise RuntimeError("not yet")
        return a
"""


def _only_run(result):
    runs = result.runs()
    assert len(runs) == 1, runs
    return runs[0]


def test_a_bad_param_value_is_a_recorded_failed_run_and_exit_4(project):
    project.write("flows/flow_p.py", FLOW)
    result = project.run("--param", "n=many")
    assert result.exit_code == 4
    assert "n='many'" in result.output and "expected an int" in result.output
    run = _only_run(result)
    assert run["status"] == "failed" and run["flow"] == "flows/flow_p.py"
    assert "expected an int" in run["error"]
    record = json.loads(project.run("history", "--json").output)[0]
    assert record["params"] == {"n": "many"} and record["finished"] is not None


def test_an_unknown_param_is_recorded_for_each_selected_flow(project):
    project.write("flows/flow_p.py", FLOW)
    project.write("flows/flow_q.py", FLOW)
    result = project.run("--param", "nn=2")
    assert result.exit_code == 4
    runs = result.runs()
    assert sorted(r["flow"] for r in runs) == ["flows/flow_p.py", "flows/flow_q.py"]
    assert all("unknown flow parameter 'nn'" in r["error"] for r in runs)


def test_history_and_show_list_a_run_that_never_started(project):
    project.write("flows/flow_p.py", FLOW)
    run_id = _only_run(project.run("--param", "n=many"))["id"]
    history = project.run("history")
    assert run_id in history.output and "not started: --param n='many'" in history.output
    show = project.run("show", run_id)
    assert show.exit_code == 0
    assert "failed" in show.output and "error: --param n='many'" in show.output
    shown = json.loads(project.run("show", run_id, "--json").output)
    assert "expected an int" in shown["run"]["error"] and shown["tasks"] == []
    listed = json.loads(project.run("history", "--json").output)
    assert "expected an int" in listed[0]["error"]


def test_a_run_that_got_to_its_tasks_has_no_error(project):
    project.write("flows/flow_p.py", FLOW)
    assert project.run("--param", "n=2").exit_code == 0
    assert project.run("history", "--json").output.count('"error": null') == 1


def test_a_flow_that_no_longer_collects_on_resume_is_a_recorded_failed_run(project):
    path = project.write("flows/flow_p.py", FLOW)
    first = project.run()
    assert first.exit_code == 1
    path.write_text("from flowrun import task\n@task\ndef a(:\n")
    result = project.run("--resume")
    assert result.exit_code == 1  # as for any flow file that fails to collect
    first_id = first.runs()[0]["id"]
    newest = result.runs()[-1]
    assert newest["status"] == "failed" and newest["resumed_from"] == first_id
    assert f"cannot resume run {first_id}" in newest["error"]
    assert "SyntaxError" in newest["error"] or "syntax" in newest["error"].lower()
    path.write_text(FLOW.replace("a == 1", "a == 0").replace("\n    ", "\n").lstrip())
    fixed = project.run("--resume")  # resumes the run that got to its tasks
    assert fixed.exit_code == 0, fixed.output
    assert fixed.runs()[-1]["resumed_from"] == first_id
    assert fixed.status("flows/flow_p.py::a") == "cached"


def test_resume_by_id_of_a_flow_that_no_longer_collects_is_recorded(project):
    path = project.write("flows/flow_p.py", FLOW)
    first_id = project.run().runs()[0]["id"]
    path.write_text("from flowrun import task\n@task\ndef a(b): pass\n")
    result = project.run(f"--resume={first_id}", env={"FLOWRUN_RUN_ID": "feedc0de0001"})
    assert result.exit_code == 4  # the run's flow is not selected: as before
    newest = result.runs()[-1]
    assert newest["id"] == "feedc0de0001" and newest["status"] == "failed"
    assert newest["resumed_from"] == first_id and "b" in newest["error"]


def test_explain_records_no_run_for_a_bad_param_or_a_broken_flow(project):
    path = project.write("flows/flow_p.py", FLOW)
    assert project.run().exit_code == 1
    assert project.run("explain", "--param", "n=many").exit_code == 4
    path.write_text("from flowrun import task\n@task\ndef a(:\n")
    project.run("explain", "--resume")
    assert len(project.run("history", "--json").runs()) == 1
