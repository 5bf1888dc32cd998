"""``flowrun --resume RUN --force NODEID``: rerun chosen tasks of a finished run (and
what follows them), reusing every other task that succeeded; the UI's "this task
only" keeps what follows reusable."""
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
        return load * 10

    @task(each="extract_list")
    def per(extract_list):
        count("per")
        return extract_list

    @task
    def extract_list():
        return [1, 2]
"""


def _counts(project) -> dict[str, int]:
    return {name: len((project.path / f"{name}.count").read_text())
            for name in ("extract", "load", "report", "per")}


def test_force_reruns_the_task_and_its_downstream_and_reuses_the_rest(project):
    project.write("flows/flow_f.py", FLOW)
    first = project.run()
    assert first.exit_code == 0, first.output
    run_id = first.runs()[-1]["id"]
    result = project.run("--resume", run_id, "--force", "flows/flow_f.py::load")
    assert result.exit_code == 0, result.output
    assert "forced to run again: load" in result.output
    s = result.statuses()
    assert s["flows/flow_f.py::extract"] == "cached"
    assert s["flows/flow_f.py::load"] == "succeeded"
    assert s["flows/flow_f.py::report"] == "succeeded"
    assert _counts(project) == {"extract": 1, "load": 2, "report": 2, "per": 2}
    assert result.runs()[-1]["resumed_from"] == run_id


def test_forced_mapped_task_reruns_every_instance(project):
    project.write("flows/flow_f.py", FLOW)
    run_id = project.run().runs()[-1]["id"]
    result = project.run("--resume", run_id, "--force", "flows/flow_f.py::per")
    assert result.exit_code == 0, result.output
    assert _counts(project)["per"] == 4 and _counts(project)["load"] == 1


def test_force_alone_keeps_what_follows_reused(project):
    project.write("flows/flow_f.py", FLOW)
    run_id = project.run().runs()[-1]["id"]
    result = project.run("--resume", run_id, "--force", "flows/flow_f.py::load",
                         env={"FLOWRUN_FORCE_DOWNSTREAM": "0"})
    assert result.exit_code == 0, result.output
    assert result.statuses()["flows/flow_f.py::report"] == "cached"
    assert _counts(project) == {"extract": 1, "load": 2, "report": 1, "per": 2}


def test_force_of_an_unknown_task_is_a_usage_error(project):
    project.write("flows/flow_f.py", FLOW)
    run_id = project.run().runs()[-1]["id"]
    typo = project.run("--resume", run_id, "--force", "flows/flow_f.py::laod")
    assert typo.exit_code == 4
    assert "did you mean 'load'" in typo.output and "Traceback" not in typo.output
