"""``flowrun schedule pause|resume|unpause FLOW``: a paused flow is never due, on any
host sharing the store; ``schedule --json`` says so, with its next fire times (ISO) and
what became of its last slots."""
from __future__ import annotations

import json

import jsonschema

from flowrun.schemas import load as load_schema

HOURLY = """
    from flowrun import Flow, task
    flow = Flow(schedule="0 * * * *")
    @task
    def tick(context):
        return context.scheduled_for
"""


def at(text: str) -> dict[str, str]:
    return {"FLOWRUN_NOW": text}


def test_a_paused_flow_is_skipped_by_due_until_resumed(project):
    project.write("flows/flow_h.py", HOURLY)
    assert project.run("--due", env=at("2026-11-22T06:00:00Z")).exit_code == 0
    paused = project.run("schedule", "pause", "flows/flow_h.py")
    assert paused.exit_code == 0 and "paused" in paused.output
    skipped = project.run_subprocess("--due", env=at("2026-11-22T07:00:00Z"))
    assert (skipped.exit_code, skipped.stdout, skipped.stderr) == (0, "", "")
    listed = project.run("schedule", env=at("2026-11-22T07:30:00Z"))
    assert "PAUSED" in listed.output
    assert project.run("schedule", "unpause", "flows/flow_h.py").exit_code == 0
    assert project.run("schedule", "resume", "flows/flow_h.py").exit_code == 0
    again = project.run("--due", env=at("2026-11-22T08:00:00Z"))
    assert again.exit_code == 0
    with project.storage() as store:
        assert len(store.list_runs(flow="flows/flow_h.py")) == 2


def test_schedule_json_has_paused_next_times_and_slot_outcomes(project):
    project.write("flows/flow_h.py", HOURLY)
    project.run("--due", env=at("2026-11-22T06:00:00Z"))
    project.run("--due", env=at("2026-11-22T08:10:00Z"))  # 07:00 never claimed
    project.run("schedule", "pause", "flows/flow_h.py", env=at("2026-11-22T08:30:00Z"))
    result = project.run("schedule", "--json", env=at("2026-11-22T09:30:00Z"))
    rows = json.loads(result.output)
    jsonschema.validate(rows, load_schema("schedule"))
    row = rows[0]
    assert row["paused"] is True and row["paused_since"]
    assert row["next_times"] == ["2026-11-22T10:00:00+00:00", "2026-11-22T11:00:00+00:00",
                                 "2026-11-22T12:00:00+00:00"]
    outcomes = [(s["time"][11:16], s["outcome"], bool(s["run_id"])) for s in row["slots"]]
    assert outcomes == [("09:00", "paused", False), ("08:00", "succeeded", True),
                        ("07:00", "missed", False), ("06:00", "succeeded", True)]


def test_pause_mistakes_are_one_line_usage_errors(project):
    project.write("flows/flow_h.py", HOURLY)
    project.write("flows/flow_plain.py", "from flowrun import task\n@task\ndef p(): pass\n")
    for args, words in [(("pause",), "one flow file"),
                        (("pause", "flows/flow_plain.py"), "has no schedule"),
                        (("resume", "flows/flow_nope.py"), "flow_nope.py")]:
        result = project.run("schedule", *args)
        assert result.exit_code == 4, (args, result.output)
        assert words in result.output and "Traceback" not in result.output
