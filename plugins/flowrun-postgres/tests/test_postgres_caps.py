"""The optional store capabilities on a real PostgreSQL server, end to end through
``flowrun`` processes of several hosts (``FLOWRUN_HOSTNAME``) sharing one store: cached
tasks, paused schedules, notifications, metrics and log search."""
from __future__ import annotations

HOURLY = """
    from flowrun import Flow, task
    flow = Flow(schedule="0 * * * *")
    @task
    def tick(context):
        return context.scheduled_for
"""
CACHED = """
    from pathlib import Path
    from flowrun import task

    @task(cache=True)
    def a():
        Path("ran").write_text(Path("ran").read_text() + "a" if Path("ran").exists() else "a")
        return "x" * 300_000

    @task(cache=True)
    def b(a):
        return len(a)
"""


def configure(project, url: str) -> None:
    project.write("flowrun.toml", f'[tool.flowrun]\nstore = "{url}"\n')


def on(host: str, **extra: str) -> dict[str, str]:
    return {"FLOWRUN_HOSTNAME": host, **extra}


def test_a_cached_task_is_cached_on_another_host(project, pg_url):
    configure(project, pg_url)
    project.write("flows/flow_c.py", CACHED)
    first = project.run_subprocess("-v", env=on("host-a"))
    assert first.exit_code == 0, first.output
    second = project.run_subprocess("-v", env=on("host-b"))
    assert second.exit_code == 0, second.output
    assert second.statuses() == {"flows/flow_c.py::a": "cached",
                                 "flows/flow_c.py::b": "cached"}
    assert second.result("flows/flow_c.py::b") == 300_000  # the large result came back
    assert (project.path / "ran").read_text() == "a"


def test_a_paused_flow_is_skipped_by_due_on_every_host(project, pg_url):
    configure(project, pg_url)
    project.write("flows/flow_h.py", HOURLY)
    at = "FLOWRUN_NOW"
    assert project.run_subprocess("--due", env=on("host-a", **{
        at: "2026-11-22T06:00:00Z"})).exit_code == 0
    paused = project.run_subprocess("schedule", "pause", "flows/flow_h.py",
                                    env=on("host-a"))
    assert paused.exit_code == 0 and "paused" in paused.output
    skipped = project.run_subprocess("--due", env=on("host-b", **{
        at: "2026-11-22T07:00:00Z"}))
    assert (skipped.exit_code, skipped.stdout, skipped.stderr) == (0, "", "")
    assert project.run_subprocess("schedule", "resume", "flows/flow_h.py",
                                  env=on("host-b")).exit_code == 0
    again = project.run_subprocess("--due", env=on("host-b", **{
        at: "2026-11-22T08:00:00Z"}))
    assert again.exit_code == 0, again.output
    with again.storage() as store:
        assert [r.host for r in store.list_runs(flow="flows/flow_h.py")] == [
            "host-b", "host-a"]
