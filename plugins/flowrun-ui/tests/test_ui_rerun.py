"""Rerun a task: ``POST /runs/{id}/rerun`` starts ``flowrun --resume RUN --force TASK``
as a new run reusing every other success; the run page has the buttons."""
from __future__ import annotations

FLOW = """
    from flowrun import task

    def count(name):
        with open(name + ".count", "a") as f:
            f.write("x")

    @task
    def extract():
        count("extract")
        return 1

    @task
    def load(extract):
        count("load")
        return extract + 1

    @task
    def report(load):
        count("report")
        return load
"""
LOAD = "flows/flow_re.py::load"


def _statuses(run):
    return {t["task_id"].split("::")[-1]: t["status"] for t in run["tasks"]}


def test_rerun_with_downstream_reuses_the_rest(ui, project):
    project.write("flows/flow_re.py", FLOW)
    first = project.run("flows/flow_re.py").runs()[-1]["id"]
    response = ui.post(f"/api/v1/runs/{first}/rerun", {"tasks": [LOAD], "downstream": True})
    assert response.status_code == 202, response.text
    run = ui.wait(response.json()["run_id"])
    assert run["status"] == "succeeded" and run["resumed_from"] == first
    assert _statuses(run) == {"extract": "cached", "load": "succeeded", "report": "succeeded"}


def test_rerun_of_one_task_alone_keeps_what_follows(ui, project):
    project.write("flows/flow_re.py", FLOW)
    first = project.run("flows/flow_re.py").runs()[-1]["id"]
    response = ui.post(f"/api/v1/runs/{first}/rerun", {"tasks": [LOAD], "downstream": False})
    run = ui.wait(response.json()["run_id"])
    assert _statuses(run) == {"extract": "cached", "load": "succeeded", "report": "cached"}
    assert (project.path / "report.count").read_text() == "x"
    page = ui.get(f"/runs/{first}").text
    assert "Rerun this task only" in page and f"""data-rerun='["{LOAD}"]'""" in page


def test_rerun_refuses_unknown_tasks_and_bad_bodies(ui, project):
    project.write("flows/flow_re.py", FLOW)
    first = project.run("flows/flow_re.py").runs()[-1]["id"]
    unknown = ui.post(f"/api/v1/runs/{first}/rerun", {"tasks": ["flows/flow_re.py::nope"]})
    assert unknown.status_code == 400 and "nope" in unknown.json()["error"]
    assert ui.post(f"/api/v1/runs/{first}/rerun", {"tasks": []}).status_code == 400
    assert ui.post(f"/api/v1/runs/{first}/rerun", {"task": [LOAD]}).status_code == 400
    assert ui.post("/api/v1/runs/abc123/rerun", {"tasks": [LOAD]}).status_code == 404
