"""The schedules page and API: every scheduled flow with ``paused``, its next fire
times and its last slots' outcomes with their runs, on the clock ``--due`` uses
(``FLOWRUN_NOW``); pause and unpause kept in the store, so ``--due`` skips the flow."""
from __future__ import annotations

import pytest
from conftest import flow_path, start_ui

HOURLY = """
    from flowrun import Flow, task
    flow = Flow(schedule="0 * * * *")
    @task
    def tick(context):
        return context.scheduled_for
"""
NOW = "2026-11-22T09:30:00Z"


@pytest.fixture
def scheduled(project):
    project.write("flows/flow_h.py", HOURLY)
    project.run("--due", env={"FLOWRUN_NOW": "2026-11-22T06:00:00Z"})
    project.run("--due", env={"FLOWRUN_NOW": "2026-11-22T08:10:00Z"})
    server = start_ui(project.path, env={"FLOWRUN_NOW": NOW})
    yield server
    server.stop()


def test_schedules_list_next_times_and_slot_outcomes(scheduled, project):
    rows = scheduled.get("/api/v1/schedules").json()
    assert [r["flow_id"] for r in rows] == ["flows/flow_h.py"]
    row = rows[0]
    assert row["paused"] is False
    assert row["next"] == ["2026-11-22T10:00:00+00:00", "2026-11-22T11:00:00+00:00",
                           "2026-11-22T12:00:00+00:00"]
    assert [(s["time"][11:16], s["outcome"]) for s in row["slots"]] == [
        ("09:00", "missed"), ("08:00", "succeeded"), ("07:00", "missed"),
        ("06:00", "succeeded")]
    run_id = row["slots"][1]["run_id"]
    page = scheduled.get("/schedules").text
    assert f'href="/runs/{run_id}"' in page and "missed" in page and ">Pause<" in page


def test_pause_and_unpause_are_kept_for_due(scheduled, project):
    flow = flow_path("flows/flow_h.py")
    paused = scheduled.post(f"/api/v1/flows/{flow}/pause")
    assert paused.status_code == 200 and paused.json() == {"flow_id": "flows/flow_h.py",
                                                           "paused": True}
    assert scheduled.get("/api/v1/schedules").json()[0]["paused"] is True
    listed = {f["id"]: f for f in scheduled.get("/api/v1/flows").json()}
    assert listed["flows/flow_h.py"]["paused"] is True
    assert listed["flows/flow_h.py"]["next_due"] is None  # a paused flow is never due
    assert "paused" in scheduled.get("/flows").text
    skipped = project.run("--due", env={"FLOWRUN_NOW": "2026-11-22T10:00:00Z"})
    assert skipped.exit_code == 0 and not skipped.new_runs()
    assert scheduled.post(f"/api/v1/flows/{flow}/unpause").json()["paused"] is False
    assert project.run("--due", env={"FLOWRUN_NOW": "2026-11-22T10:00:00Z"}).new_runs()


def test_pausing_a_flow_without_schedule_or_unknown_is_refused(scheduled, project):
    project.write("flows/flow_plain.py", "from flowrun import task\n@task\ndef p(): pass\n")
    plain = scheduled.post(f"/api/v1/flows/{flow_path('flows/flow_plain.py')}/pause")
    assert plain.status_code == 409 and "no schedule" in plain.json()["error"]
    nope = scheduled.post(f"/api/v1/flows/{flow_path('flows/flow_nope.py')}/pause")
    assert nope.status_code == 404
