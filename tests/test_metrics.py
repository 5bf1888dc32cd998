"""``flowrun metrics``: the Prometheus text format, read back with prometheus_client's own
parser and checked against what ``flowrun history`` says."""
from __future__ import annotations

import json

from prometheus_client.parser import text_string_to_metric_families

FLOWS = {
    "flows/flow_good.py": """
        from flowrun import task
        @task(each={"n": [1, 2, 3]})
        def part(n): return n
        @task
        def total(part): return sum(part)
    """,
    "flows/flow_bad.py": """
        from flowrun import task
        @task(retries=1)
        def broken(): raise ValueError("no")
    """,
}


def families(text: str) -> dict[str, object]:
    return {family.name: family for family in text_string_to_metric_families(text)}


def samples(family: object, name: str) -> dict[tuple, float]:
    return {tuple(sorted(s.labels.items())): s.value for s in family.samples  # type: ignore
            if s.name == name}


def test_metric_families_match_history(project):
    for path, text in FLOWS.items():
        project.write(path, text)
    project.run()
    project.run("flows/flow_good.py")
    history = json.loads(project.run("history", "--json").stdout)
    result = project.run("metrics")
    assert result.exit_code == 0
    found = families(result.stdout)
    runs = samples(found["flowrun_runs"], "flowrun_runs_total")
    expected: dict[tuple, float] = {}
    for run in history:
        key = (("flow", run["flow_id"]), ("status", run["status"]))
        expected[key] = expected.get(key, 0) + 1
    assert runs == expected
    assert samples(found["flowrun_runs_running"], "flowrun_runs_running") == {(): 0}
    durations = samples(found["flowrun_run_duration_seconds"],
                        "flowrun_run_duration_seconds_count")
    assert durations == {(("flow", "flows/flow_good.py"),): 2,
                         (("flow", "flows/flow_bad.py"),): 1}
    tasks = samples(found["flowrun_task_duration_seconds"],
                    "flowrun_task_duration_seconds_count")
    assert tasks[(("flow", "flows/flow_good.py"), ("task", "part"))] == 6  # instances: one task
    assert tasks[(("flow", "flows/flow_bad.py"), ("task", "broken"))] == 2  # every attempt
    last = samples(found["flowrun_last_success_timestamp_seconds"],
                   "flowrun_last_success_timestamp_seconds")
    newest_good = max(r["finished"] for r in history if r["flow_id"] == "flows/flow_good.py")
    assert last == {(("flow", "flows/flow_good.py"),): newest_good}
    assert "flowrun_schedule_missed" in found
    assert samples(found["flowrun_notifications_failed"],
                   "flowrun_notifications_failed_total") == {(): 0}


def test_metrics_output_writes_a_file_for_the_textfile_collector(project):
    project.write("flows/flow_good.py", FLOWS["flows/flow_good.py"])
    project.run()
    target = project.path / "flowrun.prom"
    result = project.run("metrics", "--output", str(target))
    assert result.exit_code == 0 and result.stdout == ""
    assert "flowrun_runs_total" in families(target.read_text())["flowrun_runs"].samples[0].name


def test_metrics_output_to_a_folder_that_does_not_exist_is_one_line(project):
    result = project.run("metrics", "--output", str(project.path / "no" / "such.prom"))
    assert result.exit_code == 4
    assert "--output" in result.stderr and "Traceback" not in result.stderr
