"""Schedules, ``--due``, catch-up, overlap, DST, partitions and backfill, end to end.

Time is set with ``FLOWRUN_NOW``; runs go to the project's real SQLite file and are
read back through the Storage interface (slots through SlotStore). Real
processes where it matters: silence (what cron would mail), concurrency, kills.
"""
from __future__ import annotations

import os
import subprocess
import signal
import sys
import time
from datetime import datetime, timezone

import pytest

HOURLY = """
    from flowrun import Flow, task
    flow = Flow(schedule="0 * * * *", catchup={catchup!r})
    @task
    def tick(context):
        return context.scheduled_for
"""


def now(text: str) -> dict[str, str]:
    return {"FLOWRUN_NOW": text}


def slots(project, flow: str) -> list[tuple[str, str | None, str]]:
    """(scheduled_for as ISO UTC, partition, status) of the flow's runs, oldest first."""
    with project.storage() as store:
        runs = store.list_runs(flow=flow) if store else []
    runs.sort(key=lambda r: (r.scheduled_for is not None, r.scheduled_for or 0,
                             r.partition is not None, r.partition or ""))
    return [(_iso(r.scheduled_for), r.partition, r.status) for r in runs]


def slot_rows(project, flow: str) -> list[tuple[str, str]]:
    with project.storage() as store:
        rows = store.slot_history(flow) if store else []
    return [(_iso(s), st) for s, st in rows]


def _iso(stamp: float | None) -> str | None:
    if stamp is None:
        return None
    return datetime.fromtimestamp(stamp, timezone.utc).strftime("%Y-%m-%d %H:%M")


def wait_for(path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


# -- collection errors -------------------------------------------------------------------

@pytest.mark.parametrize("option, shown", [
    ('schedule="0 25 * * *"', "bad schedule '0 25 * * *'"),
    ('schedule="@fortnightly"', "bad schedule '@fortnightly'"),
    ('schedule="0 6 * * *", timezone="Mars/Olympus"', "bad timezone 'Mars/Olympus'"),
    ('schedule="0 6 * * *", catchup="sometimes"', "bad catchup 'sometimes'"),
    ('overlap="queue"', "bad overlap 'queue'"),
    ('partitions={"weekly": "2026-11-01"}',
     "bad partitions {'weekly': '2026-11-01'}: unknown key 'weekly'"),
    ('partitions={"daily": "Nov 1st"}', ("bad partitions {'daily': 'Nov 1st'}: 'Nov 1st' "
                                         "is not a date like 2026-11-01")),
])
def test_bad_schedule_options_are_collection_errors_naming_file_and_value(
        project, option, shown):
    project.write("flows/flow_bad.py", f"""
        from flowrun import Flow, task
        flow = Flow({option})
        @task
        def a(): return 1
    """)
    project.write("flows/flow_good.py", "from flowrun import task\n@task\ndef b(): return 2\n")
    result = project.run()
    assert result.exit_code == 1
    assert f"flows/flow_bad.py: {shown}" in result.output
    assert "Traceback" not in result.output
    assert result.status("flows/flow_good.py::b") == "succeeded"


# -- --due: slots and catch-up --------------------------------------------------------------

def test_due_runs_the_latest_slot_once_then_stays_silent(project):
    project.write("flows/flow_daily.py", """
        from flowrun import Flow, task
        flow = Flow(schedule="@daily")
        @task
        def report(context):
            return context.scheduled_for
    """)
    project.write("flows/flow_plain.py", "from flowrun import task\n@task\ndef p(): pass\n")
    first = project.run_subprocess("--due", env=now("2026-11-22T06:00:00+00:00"))
    assert first.exit_code == 0, first.output
    assert slots(project, "flows/flow_daily.py") == [("2026-11-22 00:00", None, "succeeded")]
    assert slots(project, "flows/flow_plain.py") == []  # unscheduled: ignored
    again = project.run_subprocess("--due", env=now("2026-11-22T23:59:00+00:00"))
    assert (again.exit_code, again.stdout, again.stderr) == (0, "", "")


@pytest.mark.parametrize("catchup, expected", [
    ("latest", ["2026-11-22 10:00"]),
    ("all", ["2026-11-22 07:00", "2026-11-22 08:00", "2026-11-22 09:00",
             "2026-11-22 10:00"]),
    ("none", []),
])
def test_catchup_policy_decides_which_missed_slots_run(project, catchup, expected):
    project.write("flows/flow_hourly.py", HOURLY.format(catchup=catchup))
    assert project.run("--due", env=now("2026-11-22T06:01:00Z")).exit_code == 0
    result = project.run("--due", env=now("2026-11-22T10:30:00Z"))
    assert result.exit_code == 0, result.output
    ran = [s for s, _, _ in slots(project, "flows/flow_hourly.py")]
    assert ran == ["2026-11-22 06:00", *expected]


def test_catchup_all_runs_missed_slots_one_after_another_oldest_first(project):
    project.write("flows/flow_hourly.py", """
        import time
        from flowrun import Flow, task
        flow = Flow(schedule="0 * * * *", catchup="all")
        @task
        def tick(context):
            seen = context.state.get("seen", [])
            time.sleep(0.05)  # slots running side by side would overlap here
            context.state["seen"] = [*seen, context.scheduled_for]
    """)
    project.run("--due", env=now("2026-11-22T06:01:00Z"))
    assert project.run("--due", env=now("2026-11-22T10:30:00Z")).exit_code == 0
    with project.storage() as store:
        runs = sorted(store.list_runs(), key=lambda r: r.started)
    assert [_iso(r.scheduled_for)[-5:] for r in runs] == [
        "06:00", "07:00", "08:00", "09:00", "10:00"]
    assert all(before.finished <= after.started for before, after in zip(runs, runs[1:]))


def test_catchup_none_runs_a_slot_seen_in_time_and_records_a_missed_one(project):
    project.write("flows/flow_hourly.py", HOURLY.format(catchup="none"))
    project.run("--due", env=now("2026-11-22T06:01:00Z"))
    project.run("--due", env=now("2026-11-22T10:30:00Z"))  # 10:00 missed by 30 min
    project.run("--due", env=now("2026-11-22T11:02:00Z"))  # 11:00 seen in time
    assert slot_rows(project, "flows/flow_hourly.py") == [
        ("2026-11-22 06:00", "succeeded"), ("2026-11-22 10:00", "skipped"),
        ("2026-11-22 11:00", "succeeded")]


def test_a_flow_never_run_starts_with_its_latest_slot_even_with_catchup_all(project):
    project.write("flows/flow_hourly.py", HOURLY.format(catchup="all"))
    project.run("--due", env=now("2026-11-22T10:30:00Z"))
    assert slots(project, "flows/flow_hourly.py") == [("2026-11-22 10:00", None,
                                                       "succeeded")]


@pytest.mark.parametrize("first, second, expected", [
    # fall back (03:00 CEST -> 02:00 CET): the 02:30 job fires once, as Debian cron
    ("2026-10-24T03:00:00+02:00", "2026-10-26T03:00:00+01:00",
     ["2026-10-24 00:30", "2026-10-25 00:30", "2026-10-26 01:30"]),
    # spring forward (02:00 CET -> 03:00 CEST): 02:30 does not exist; it fires at 03:00
    ("2026-03-28T03:00:00+01:00", "2026-03-30T03:00:00+02:00",
     ["2026-03-28 01:30", "2026-03-29 01:00", "2026-03-30 00:30"]),
])
def test_dst_transitions_fire_each_daily_slot_once(project, first, second, expected):
    project.write("flows/flow_dst.py", """
        from flowrun import Flow, task
        flow = Flow(schedule="30 2 * * *", timezone="Europe/Berlin", catchup="all")
        @task
        def t(): pass
    """)
    project.run("--due", env=now(first))
    project.run("--due", env=now(second))
    assert [s for s, _, _ in slots(project, "flows/flow_dst.py")] == expected  # UTC


def test_due_still_reports_a_broken_flow_file(project):
    project.write("flows/flow_a.py", HOURLY.format(catchup="latest"))
    project.write("flows/flow_bad.py", "from flowrun import Flow\nflow = Flow(schedule='x')\n")
    project.run("--due", env=now("2026-11-22T06:01:00Z"))
    result = project.run("--due", env=now("2026-11-22T06:02:00Z"))  # nothing due
    assert result.exit_code == 1
    assert "flows/flow_bad.py: bad schedule 'x': Wrong number of fields" in result.output


def test_bad_flowrun_now_is_one_line(project):
    project.write("flows/flow_a.py", HOURLY.format(catchup="latest"))
    result = project.run("--due", env=now("tomorrow"))
    assert result.exit_code == 4
    assert result.output.strip().splitlines() == [
        ("ERROR: FLOWRUN_NOW='tomorrow': expected an ISO time such as "
         "2026-11-22T06:00:00+00:00")]


# -- overlap --------------------------------------------------------------------------------

SLOW = """
    import pathlib, time
    from flowrun import Flow, task
    flow = Flow(schedule="*/10 * * * *", overlap={overlap!r})
    @task
    def slow(context):
        here = pathlib.Path(__file__).parent
        with open(here / "ran.txt", "a") as log:
            log.write(f"{{context.scheduled_for}}\\n")
        (here / "started").touch()
        deadline = time.time() + {hold}
        while time.time() < deadline and not (here / "go").exists():
            time.sleep(0.02)
"""


def test_three_concurrent_due_invocations_run_the_slot_once(project):
    project.write("flows/flow_slow.py", SLOW.format(overlap="skip", hold=1.0))
    env = now("2026-11-22T06:00:30Z")
    procs = [project.popen("--due", env=env) for _ in range(3)]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    assert (project.path / "flows/ran.txt").read_text().count("\n") == 1
    assert slot_rows(project, "flows/flow_slow.py") == [("2026-11-22 06:00", "succeeded")]
    assert sorted(bool(out) for out, _ in outputs) == [False, False, True]  # losers: silent


@pytest.mark.parametrize("overlap, later", [("skip", "skipped"), ("wait", "succeeded")])
def test_overlap_decides_a_slot_that_came_due_while_the_last_run_ran(project, overlap,
                                                                   later):
    project.write("flows/flow_slow.py", SLOW.format(overlap=overlap, hold=30))
    first = project.popen("--due", env=now("2026-11-22T06:00:30Z"))
    wait_for(project.path / "flows/started")
    busy = project.run("--due", env=now("2026-11-22T06:10:30Z"))  # 06:00 still runs
    assert (busy.exit_code, busy.output) == (0, "")
    (project.path / "flows/go").touch()
    first.communicate(timeout=30)
    assert first.returncode == 0
    project.run("--due", env=now("2026-11-22T06:11:00Z"))
    assert slot_rows(project, "flows/flow_slow.py") == [
        ("2026-11-22 06:00", "succeeded"), ("2026-11-22 06:10", later)]


def test_a_killed_due_process_does_not_leave_its_flow_locked(project):
    project.write("flows/flow_slow.py", SLOW.format(overlap="skip", hold=30))
    victim = project.popen("--due", env=now("2026-11-22T06:00:30Z"))
    wait_for(project.path / "flows/started")
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=10)
    (project.path / "flows/go").touch()
    result = project.run("--due", env=now("2026-11-22T06:10:30Z"))
    assert result.exit_code == 0, result.output
    assert slot_rows(project, "flows/flow_slow.py") == [
        ("2026-11-22 06:00", "abandoned"), ("2026-11-22 06:10", "succeeded")]


# -- partitions and backfill ---------------------------------------------------------------

PARTITIONED = """
    import pathlib
    from flowrun import Flow, task
    flow = Flow(schedule="0 6 * * *", partitions={partitions!r})
    @task
    def load(partition, context):
        if partition == "2026-11-03" and not (pathlib.Path(__file__).parent / "fixed").exists():
            raise ValueError("bad data")
        return [partition, context.partition]
"""


def test_due_passes_the_slot_partition_key_to_the_parameter_and_context(project):
    project.write("flows/flow_p.py", PARTITIONED.format(partitions={"daily": "2026-11-01"}))
    result = project.run("--due", env=now("2026-11-22T07:00:00Z"))
    assert result.exit_code == 0, result.output
    assert result.result("flows/flow_p.py::load") == ["2026-11-22", "2026-11-22"]


def test_categories_make_one_run_per_category_per_slot(project):
    spec = {"daily": "2026-11-01", "categories": ["eu", "us"]}
    project.write("flows/flow_p.py", PARTITIONED.format(partitions=spec))
    assert project.run("--due", env=now("2026-11-22T07:00:00Z")).exit_code == 0
    assert slots(project, "flows/flow_p.py") == [
        ("2026-11-22 06:00", "2026-11-22/eu", "succeeded"),
        ("2026-11-22 06:00", "2026-11-22/us", "succeeded")]
    assert slot_rows(project, "flows/flow_p.py") == [("2026-11-22 06:00", "succeeded")]
    bad = project.run("--partition", "2026-11-02/asia")
    assert bad.exit_code == 4
    assert "unknown category 'asia' (known: eu, us)" in bad.output


def test_partition_option_runs_one_partition(project):
    project.write("flows/flow_p.py", PARTITIONED.format(partitions={"daily": "2026-11-01"}))
    result = project.run("--partition", "2026-11-05")
    assert result.exit_code == 0, result.output
    assert result.result("flows/flow_p.py::load") == ["2026-11-05", "2026-11-05"]
    early = project.run("--partition", "2026-10-31")
    assert early.exit_code == 4 and "before the first partition 2026-11-01" in early.output


def test_backfill_then_only_missing_then_only_failed(project):
    project.write("flows/flow_p.py", PARTITIONED.format(partitions={"daily": "2026-11-01"}))
    env = now("2026-11-05T12:00:00Z")
    first = project.run("--backfill", "2026-11-01..2026-11-04", env=env)
    assert first.exit_code == 1  # 2026-11-03 failed
    missing = project.run("--backfill", "..", "--only", "missing", env=env)
    assert [p for _, p, _ in slots(project, "flows/flow_p.py")][-1:] == ["2026-11-05"]
    assert "backfilling 1 partition (missing)" in missing.output
    (project.path / "flows/fixed").touch()
    failed = project.run("--backfill", "..", "--only", "failed", env=env)
    assert failed.exit_code == 0 and "backfilling 1 partition (failed)" in failed.output
    grid = project.run("partitions", "flows/flow_p.py", env=env)
    assert grid.exit_code == 0
    assert "2026-11-03  ok" in grid.lines and "5 partitions: 5 succeeded" in grid.lines


def test_backfill_needs_a_partitioned_flow(project):
    project.write("flows/flow_a.py", HOURLY.format(catchup="latest"))
    result = project.run("--backfill", "2026-11-01..2026-11-02")
    assert result.exit_code == 4
    assert "--backfill: none of the selected flows has partitions" in result.output


# -- the schedule and cron commands ---------------------------------------------------------

def test_schedule_command_shows_expression_zone_last_slot_and_next_three(project):
    project.write("flows/flow_d.py", """
        from flowrun import Flow, task
        flow = Flow(schedule="0 6 * * 1-5", timezone="Europe/Paris")
        @task
        def t(): pass
    """)
    env = now("2026-11-20T12:00:00Z")  # a Friday
    project.run("--due", env=env)
    result = project.run("schedule", env=env)
    assert result.exit_code == 0, result.output
    assert result.lines == [
        "flows/flow_d.py  0 6 * * 1-5  (Europe/Paris)  catchup=latest overlap=skip",
        "  last: 2026-11-20 06:00 CET  succeeded",
        "  next: 2026-11-23 06:00 CET, 2026-11-24 06:00 CET, 2026-11-25 06:00 CET"]


def test_cron_command_prints_an_absolute_crontab_line_logging_to_a_file(project):
    result = project.run("cron")
    assert result.exit_code == 0
    line = result.lines[-1]
    log = os.path.join(project.path, '.flowrun', 'cron.log')
    assert line.startswith(f"* * * * * cd {project.path} && umask 077 && mkdir -p ")
    assert f" && {sys.executable} -m flowrun --due >> {log} 2>&1" in line
    project.write("flows/flow_a.py", "from flowrun import task\n@task\ndef a(): pass\n")
    command = line.split(" ", 5)[5]  # what cron hands to sh, before any store exists
    done = subprocess.run(["sh", "-c", command], cwd="/", timeout=60)
    assert done.returncode == 0 and os.path.exists(log)
    assert os.stat(log).st_mode & 0o077 == 0  # the log is private too
