"""flowrun explain: what the next run would run, reuse or skip, and why."""
from __future__ import annotations

import json

FLOW = """
    from flowrun import task

    @task
    def extract(day: str = "mon"):
        return [day]

    @task
    def clean(extract):
        return extract

    @task(run_key=lambda day: day)
    def fetch(day: str = "mon"):
        return day

    @task(run_if="failed")
    def alert(clean):
        pass
"""


def explain(project, *args):
    result = project.run("explain", "--json", *args)
    assert result.exit_code == 0, result.output
    return {v["task"]: v for v in json.loads(result.stdout)["flows/flow_etl.py"]}


def test_before_any_run_every_task_runs_because_it_never_ran(project):
    project.write("flows/flow_etl.py", FLOW)
    found = explain(project)
    assert found["extract"] == {"task": "extract", "verdict": "run",
                                "reasons": ["never ran"]}
    assert found["fetch"]["verdict"] == "run"
    assert found["fetch"]["reasons"] == ["run key 'mon' not seen before", "never ran"]
    assert found["alert"]["verdict"] == "skip"


def test_run_key_seen_is_cached(project):
    project.write("flows/flow_etl.py", FLOW)
    run_id = project.run().new_runs()[0]["id"]
    found = explain(project)
    assert found["fetch"] == {"task": "fetch", "verdict": "cached", "reasons": [
        f"run key 'mon' seen: succeeded in run {run_id}"], "reused_by": "run_key"}
    assert explain(project, "--param", "day=tue")["fetch"]["verdict"] == "run"


def test_unchanged_task_without_run_key_runs_every_time(project):
    project.write("flows/flow_etl.py", FLOW)
    run_id = project.run().new_runs()[0]["id"]
    assert explain(project)["extract"]["reasons"] == [
        f"unchanged since last success (run {run_id})",
        "no run_key, so it runs every time (set run_key= to reuse its result)"]


def test_code_change_and_upstream_change_are_named(project):
    project.write("flows/flow_etl.py", FLOW)
    run_id = project.run().new_runs()[0]["id"]
    project.write("flows/flow_etl.py", FLOW.replace("return [day]", "return [day, day]"))
    found = explain(project)
    assert found["extract"]["reasons"] == [f"code changed since last success (run {run_id})"]
    assert found["clean"]["reasons"] == ["upstream changed: extract"]


def test_parameter_change_is_named(project):
    project.write("flows/flow_etl.py", FLOW)
    project.run()
    found = explain(project, "--param", "day=tue")
    assert found["extract"]["reasons"] == ["parameter day changed: 'mon' -> 'tue'"]


def test_resume_reuses_what_succeeded(project):
    project.write("flows/flow_etl.py", FLOW + """
    @task
    def load(clean):
        raise ValueError("disk full")
    """)
    run_id = project.run().new_runs()[0]["id"]
    found = explain(project, "--resume")
    assert found["extract"] == {"task": "extract", "verdict": "reuse", "reasons": [
        f"reused from run {run_id}"], "reused_from": run_id, "reused_by": "resumed"}
    assert found["load"] == {"task": "load", "verdict": "run", "reasons": [
        f"failed in run {run_id}: ValueError: disk full"], "rerun_because": "failed"}


def test_text_output_and_selection(project):
    project.write("flows/flow_etl.py", FLOW)
    result = project.run("explain", "flows/flow_etl.py::clean")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "flows/flow_etl.py", "  extract  run     never ran", "  clean    run     never ran"]


def test_collection_errors_are_reported_and_the_rest_explained(project):
    project.write("flows/flow_etl.py", FLOW)
    project.write("flow_bad.json", '{"tasks": [{"key": "a", "task_type": "nope"}]}')
    result = project.run("explain")
    assert result.exit_code == 1
    assert "ERROR collecting flow_bad.json: flow_bad.json: task 'a': unknown task_type" \
        in result.stderr
    assert "  extract  run     never ran" in result.stdout


def test_changed_spec_task_params_count_as_code_change(project):
    spec = "tasks:\n- {key: hello, task_type: print, task_params: {msg: hi}}\n"
    project.write("flow_hi.yaml", spec)
    run_id = project.run().new_runs()[0]["id"]
    project.write("flow_hi.yaml", spec.replace("hi}", "hello}"))
    result = project.run("explain", "--json")
    (verdict,) = json.loads(result.stdout)["flow_hi.yaml"]
    assert verdict["reasons"] == [f"code changed since last success (run {run_id})"]


def test_cached_despite_code_change_says_so_and_a_raising_run_key_fails(project):
    project.write("flows/flow_etl.py", FLOW)
    project.run()
    project.write("flows/flow_etl.py", FLOW.replace("return day", "return day * 2") + """
    @task(run_key=lambda: 1 / 0)
    def broken():
        pass
    """)
    found = explain(project)
    assert found["fetch"]["verdict"] == "cached"
    assert found["fetch"]["reasons"][1].startswith("note: code changed since")
    assert found["broken"] == {"task": "broken", "verdict": "fail", "reasons": [
        "run_key raised ZeroDivisionError: division by zero"]}


RESUMED = """
    from flowrun import task

    @task
    def extract():
        return [1]

    @task
    def clean(extract):
        return extract

    @task
    def load(clean):
        raise ValueError("disk full")

    @task
    def report(load):
        return "done"
"""


def test_explain_resume_says_per_task_what_resume_will_do(project):
    project.write("flows/flow_etl.py", RESUMED)
    run_id = project.run().new_runs()[0]["id"]
    project.write("flows/flow_etl.py", RESUMED.replace("return [1]", "return [1, 2]") + """
    @task
    def audit():
        return 0
    """)
    result = project.run("explain", "--resume")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"flows/flow_etl.py: --resume continues run {run_id} (failed)",
        f"  extract  run     code changed since it succeeded in run {run_id}",
        f"  audit    run     never ran in run {run_id}",
        "  clean    run     downstream of a rerun: extract runs again",
        f"  load     run     failed in run {run_id}: ValueError: disk full",
        f"  report   run     cancelled in run {run_id} (upstream load failed)"]
    found = explain(project, "--resume", run_id)
    assert {name: v["rerun_because"] for name, v in found.items()} == {
        "extract": "code_changed", "audit": "never_ran", "clean": "downstream_of_rerun",
        "load": "failed", "report": "cancelled"}


def test_explain_resume_agrees_with_the_resumed_run(project):
    project.write("flows/flow_etl.py", RESUMED)
    project.run()
    found = explain(project, "--resume", "flows/flow_etl.py")  # a path, not a run id
    resumed = project.run("--resume")
    for name, verdict in found.items():
        expected = "cached" if verdict["verdict"] == "reuse" else {"load": "failed"}.get(
            name, "cancelled" if name == "report" else "succeeded")
        assert resumed.status(f"flows/flow_etl.py::{name}") == expected


def test_explain_resume_of_a_flow_whose_last_run_succeeded(project):
    project.write("flows/flow_etl.py", FLOW)
    project.run()
    result = project.run("explain", "--resume")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "flows/flow_etl.py: nothing to resume (its last run succeeded)"]
