"""Notifications: real channels on 127.0.0.1 (an HTTP endpoint for Apprise's json://, a
program reading the payload on stdin, an SMTP server for mailto://), the store's outbox
(retries, left-overs sent by a later invocation), events, filters and rate limits."""
from __future__ import annotations

import json
import sys
import time

import jsonschema
import pytest
from receivers import HttpReceiver, SmtpReceiver, free_port

from flowrun import schemas

FAILING = """
    import os
    from flowrun import Flow, task
    flow = Flow(tags=["daily"])

    @task(retries=2)
    def load():
        if os.path.exists("fail"):
            raise ValueError("orders.csv missing")
        return 1
"""


@pytest.fixture
def receiver():
    server = HttpReceiver()
    yield server
    server.stop()


def configure(project, *tables: str, extra: str = "notify_wait = 5") -> None:
    project.write("flowrun.toml", extra + "\n" + "\n".join(
        f"[[notify]]\n{table}\n" for table in tables))


def command_channel(project, on: str = '["failed", "recovered", "succeeded"]') -> str:
    """A ``command`` table whose program appends each payload to payloads.jsonl."""
    script = project.write("record.py", """
        import sys
        with open("payloads.jsonl", "a") as out:
            out.write(sys.stdin.read().strip() + "\\n")
    """)
    return f'command = ["{sys.executable}", "{script}"]\non = {on}'


def payloads(project) -> list[dict]:
    path = project.path / "payloads.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() \
        else []


def test_a_failed_run_sends_one_message_after_its_last_retry(project, receiver):
    configure(project, f'to = "{receiver.url}"')
    project.write("flows/flow_orders.py", FAILING)
    (project.path / "fail").write_text("")
    result = project.run()
    assert result.exit_code == 1
    [message] = receiver.messages()
    run_id = result.runs()[0]["id"]
    assert "flows/flow_orders.py failed" in message["title"]
    assert "flows/flow_orders.py::load (attempt 3): ValueError: orders.csv missing" \
        in message["message"]
    assert f"flowrun show {run_id}" in message["message"]


def test_events_and_payload_follow_the_schema(project):
    configure(project, command_channel(project), extra='notify_wait = 5\n'
              'ui_url = "http://127.0.0.1:8765"')
    project.write("flows/flow_orders.py", FAILING)
    (project.path / "fail").write_text("")
    failed = project.run()
    (project.path / "fail").unlink()
    assert project.run().exit_code == 0
    assert project.run().exit_code == 0
    events = [(p["event"], p["run_id"]) for p in payloads(project)]
    run_ids = [r["id"] for r in failed.runs()]
    assert [e for e, _ in events] == ["failed", "succeeded", "recovered", "succeeded"]
    assert events[0][1] == run_ids[0]
    schema = schemas.load("notification")
    for payload in payloads(project):
        jsonschema.validate(payload, schema)
    first = payloads(project)[0]
    assert first["failed_tasks"] == [{"task_id": "flows/flow_orders.py::load",
                                      "attempt": 3, "error": "ValueError: orders.csv missing"}]
    assert first["url"] == f"http://127.0.0.1:8765/runs/{run_ids[0]}"
    assert first["show"] == f"flowrun show {run_ids[0]}"


def test_only_the_events_asked_for_are_sent(project, receiver):
    configure(project, f'to = "{receiver.url}"')  # default: failed, recovered
    project.write("flows/flow_ok.py", "from flowrun import task\n@task\ndef a(): return 1\n")
    assert project.run().exit_code == 0
    assert receiver.messages() == []


def test_a_webhook_answering_500_is_retried(project):
    receiver = HttpReceiver(statuses=[500])
    try:
        configure(project, f'to = "{receiver.url}"')
        project.write("flows/flow_orders.py", FAILING)
        (project.path / "fail").write_text("")
        assert project.run().exit_code == 1
        assert len(receiver.bodies) == 2 and len(receiver.messages()) == 2
    finally:
        receiver.stop()
    log = project.run("notify", "log", "--json")
    [entry] = json.loads(log.stdout)
    assert (entry["status"], entry["tries"], entry["event"]) == ("sent", 2, "failed")


def test_a_channel_down_keeps_the_message_for_the_next_invocation(project):
    port = free_port()
    configure(project, f'to = "json://127.0.0.1:{port}/hook"', extra="notify_wait = 0")
    project.write("flows/flow_orders.py", FAILING)
    (project.path / "fail").write_text("")
    down = project.run()
    assert down.exit_code == 1  # the run's own outcome: the channel changes nothing
    assert "kept in the store's outbox" in down.stderr
    assert [m["status"] for m in json.loads(project.run("notify", "log", "--json").stdout)] \
        == ["pending"]
    receiver = HttpReceiver(port=port)
    try:
        configure(project, f'to = "json://127.0.0.1:{port}/hook"', extra="notify_wait = 5")
        (project.path / "fail").unlink()
        assert project.run().exit_code == 0
        by_title = {m["title"]: m["message"] for m in receiver.messages()}
        assert sorted(by_title) == ["flowrun: flows/flow_orders.py failed",
                                    "flowrun: flows/flow_orders.py recovered"]
        assert down.runs()[0]["id"] in by_title["flowrun: flows/flow_orders.py failed"]
    finally:
        receiver.stop()


def test_min_interval_sends_one_message_per_flow_and_event(project, receiver):
    configure(project, f'to = "{receiver.url}"\nmin_interval = "1h"')
    project.write("flows/flow_orders.py", FAILING)
    (project.path / "fail").write_text("")
    assert project.run().exit_code == 1
    assert project.run().exit_code == 1
    assert len(receiver.messages()) == 1
    log = json.loads(project.run("notify", "log", "--json").stdout)
    assert [m["status"] for m in log] == ["suppressed", "sent"]


def test_flows_filter_by_tag_expression(project, receiver):
    configure(project, f'to = "{receiver.url}"\nflows = "daily and not experimental"')
    project.write("flows/flow_orders.py", FAILING)
    project.write("flows/flow_trial.py", FAILING.replace('["daily"]', '["daily", "experimental"]'))
    (project.path / "fail").write_text("")
    assert project.run().exit_code == 1
    [message] = receiver.messages()
    assert "flow_orders.py" in message["title"]


def test_flow_notify_adds_a_channel_for_that_flow(project, receiver):
    configure(project)
    project.write("flows/flow_orders.py", FAILING.replace(
        'Flow(tags=["daily"])', f'Flow(tags=["daily"], notify=[{{"to": "{receiver.url}"}}])'))
    project.write("flows/flow_other.py", FAILING.replace('Flow(tags=["daily"])', "Flow()"))
    (project.path / "fail").write_text("")
    assert project.run().exit_code == 1
    [message] = receiver.messages()
    assert "flow_orders.py" in message["title"]


def test_a_plugin_hears_every_event_through_flowrun_notify(project):
    configure(project)
    project.write("flowconf.py", """
        import json
        def flowrun_notify(event, payload):
            with open("heard.txt", "a") as out:
                out.write(event + " " + payload["status"] + "\\n")
    """)
    project.write("flows/flow_orders.py", FAILING)
    (project.path / "fail").write_text("")
    project.run()
    assert (project.path / "heard.txt").read_text().split("\n")[0] == "failed failed"


@pytest.mark.parametrize("table, says", [
    ('to = "bogus://x"', "[[notify]] to = 'bogus://...': Apprise cannot send"),
    ('to = "json://h/x"\non = ["faild"]', "unknown event 'faild' (did you mean 'failed'?)"),
    ('to = "json://h/x"\nwhen = 1', "unknown key"),
    ('to = "json://h/x"\nmin_interval = "soon"', "min_interval"),
    ('to = "json://h/x"\nflows = "daily and"', "flows"),
    ('on = ["failed"]', "needs either to"),
])
def test_a_bad_notify_table_is_a_usage_error_naming_file_and_key(project, table, says):
    configure(project, table)
    project.write("flows/flow_ok.py", "from flowrun import task\n@task\ndef a(): return 1\n")
    result = project.run()
    assert result.exit_code == 4
    assert "flowrun.toml" in result.stderr and says in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_flow_notify_option_is_a_collection_error(project):
    project.write("flows/flow_x.py", """
        from flowrun import Flow, task
        flow = Flow(notify=[{"to": "json://h/x", "on": ["nope"]}], missed_after="later")
        @task
        def a(): return 1
    """)
    result = project.run()
    assert result.exit_code == 1
    assert "flows/flow_x.py: Flow option missed_after='later'" in result.output


def test_notify_test_sends_to_every_channel(project, receiver):
    smtp = SmtpReceiver()
    try:
        configure(project, f'to = "{receiver.url}"', f'to = "{smtp.url}"')
        result = project.run("notify", "test")
        assert result.exit_code == 0, result.output + result.stderr
        assert len(receiver.messages()) == 1 and len(smtp.messages) == 1
        assert b"a test notification from flowrun" in smtp.messages[0]
    finally:
        smtp.stop()
    log = json.loads(project.run("notify", "log", "--json").stdout)
    assert {m["event"] for m in log} == {"test"} and len(log) == 2
    for entry in log:
        jsonschema.validate([entry], schemas.load("notify-log"))


def test_notify_test_to_a_channel_that_fails_exits_1(project, receiver):
    assert project.run("notify", "test", "--to", receiver.url).exit_code == 0
    assert len(receiver.messages()) == 1
    dead = project.run("notify", "test", "--to", f"json://127.0.0.1:{free_port()}/x")
    assert dead.exit_code == 1
    assert "FAILED json://127.0.0.1" in dead.output


def test_notify_test_without_channels_says_what_to_do(project):
    result = project.run("notify", "test")
    assert result.exit_code == 4
    assert "[[tool.flowrun.notify]]" in result.stderr


def test_notify_log_lists_deliveries(project):
    configure(project, command_channel(project))
    project.write("flows/flow_orders.py", FAILING)
    (project.path / "fail").write_text("")
    project.run()
    log = project.run("notify", "log", "--limit", "5")
    assert log.exit_code == 0
    assert "failed" in log.output and "command:" in log.output and "sent" in log.output


def test_notifications_cost_no_time_when_nothing_is_sent(project, receiver):
    """A run with channels configured but no event they want sends nothing."""
    configure(project, f'to = "{receiver.url}"\non = ["failed"]')
    project.write("flows/flow_ok.py", "from flowrun import task\n@task\ndef a(): return 1\n")
    started = time.monotonic()
    assert project.run().exit_code == 0
    assert receiver.bodies == [] and time.monotonic() - started < 5


def test_missed_slots_are_one_message_each_even_when_run_late(project):
    project.write("flows/flow_hourly.py", """
        from flowrun import Flow, task
        flow = Flow(schedule="0 * * * *", missed_after="15m")

        @task
        def tick():
            return 1
    """)
    configure(project, command_channel(project, on='["missed"]'))
    assert project.run_subprocess(
        "--due", env={"FLOWRUN_NOW": "2026-01-05T10:01:00Z"}).exit_code == 0
    assert payloads(project) == []  # on time
    result = project.run_subprocess("--due", env={"FLOWRUN_NOW": "2026-01-05T13:30:00Z"})
    assert result.exit_code == 0, result.stderr
    found = sorted(p["scheduled_for"] for p in payloads(project))
    # 11:00 and 12:00 never ran; 13:00 runs now, 30 minutes late
    assert [time.strftime("%H:%M", time.gmtime(s)) for s in found] == \
        ["11:00", "12:00", "13:00"]
    for body in payloads(project):
        jsonschema.validate(body, schemas.load("notification"))
        assert body["event"] == "missed" and body["flow"] == "flows/flow_hourly.py"
    project.run_subprocess("--due", env={"FLOWRUN_NOW": "2026-01-05T13:40:00Z"})
    assert len(payloads(project)) == 3  # each slot once, on any later --due
    with project.storage() as store:
        assert store.metrics((1.0,))["missed"] == {"flows/flow_hourly.py": 3}


def test_a_run_past_its_expected_duration_sends_long_running_once(project):
    configure(project, command_channel(project, on='["long_running"]'))
    project.write("flows/flow_slow.py", """
        import time
        from flowrun import Flow, task
        flow = Flow(expected_duration="1s")

        @task
        def crawl():
            time.sleep(2.5)
    """)
    project.write("flows/flow_quick.py", """
        from flowrun import Flow, task
        flow = Flow(expected_duration="1s")

        @task
        def quick():
            return 1
    """)
    result = project.run_subprocess()
    assert result.exit_code == 0, result.stderr
    [payload] = payloads(project)
    jsonschema.validate(payload, schemas.load("notification"))
    slow = next(r for r in result.runs() if r["flow"] == "flows/flow_slow.py")
    assert (payload["event"], payload["status"], payload["run_id"]) == \
        ("long_running", "running", slow["id"])
    assert 1.0 <= payload["duration"] < 2.5


def test_notify_and_metrics_read_the_store_given_by_store(project):
    configure(project, command_channel(project))
    project.write("flows/flow_orders.py", FAILING)
    (project.path / "fail").write_text("")
    other = str(project.path / "elsewhere.db")
    assert project.run("--store", other).exit_code == 1
    log = json.loads(project.run("notify", "log", "--json", "--store", other).stdout)
    assert [(m["event"], m["status"]) for m in log] == [("failed", "sent")]
    assert json.loads(project.run("notify", "log", "--json").stdout) == []
    assert project.run("notify", "test", "--store", other).exit_code == 0
    assert len(json.loads(project.run("notify", "log", "--json", "--store", other).stdout)) == 2
    assert "0 missed" in project.run("notify", "missed", "--store", other).output
    metrics = project.run("metrics", "--store", other).stdout
    assert 'flowrun_runs_total{flow="flows/flow_orders.py",status="failed"} 1.0' in metrics


def test_urls_that_passed_are_not_checked_again_until_they_change(project, receiver):
    """Apprise costs ~0.2 s to import: a run that sends nothing does not pay it twice."""
    configure(project, f'to = "{receiver.url}"\non = ["failed"]')
    project.write("flows/flow_check.py", """
        import sys
        from flowrun import task

        @task
        def loaded():
            return sorted(m for m in sys.modules if m == "apprise")
    """)
    first = project.run_subprocess()
    assert first.result("flows/flow_check.py::loaded") == ["apprise"]
    again = project.run_subprocess()
    assert again.exit_code == 0 and again.result("flows/flow_check.py::loaded") == []
    configure(project, 'to = "nosuch://host"')
    changed = project.run_subprocess()
    assert changed.exit_code == 4 and "Apprise cannot send to this URL" in changed.stderr


def test_an_interrupted_run_sends_one_interrupted_message(project):
    import signal

    configure(project, command_channel(project, on='["failed", "interrupted"]'),
              extra="notify_wait = 5\ninterrupt_grace = 0.2")
    started = project.path / "started"
    project.write("flows/flow_long.py", f"""
        import pathlib, time
        from flowrun import task

        @task
        def wait():
            pathlib.Path({str(started)!r}).touch()
            time.sleep(60)
    """)
    proc = project.popen()
    deadline = time.monotonic() + 30
    while not started.exists():
        assert time.monotonic() < deadline, "the task never started"
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode == 2
    [payload] = payloads(project)
    assert (payload["event"], payload["status"]) == ("interrupted", "interrupted")
    jsonschema.validate(payload, schemas.load("notification"))


HOURLY = """
    from flowrun import Flow, task
    flow = Flow(schedule="0 * * * *")

    @task
    def tick():
        return 1
"""


def test_notify_missed_notices_slots_when_no_due_runs(project):
    """Cron itself is down: ``flowrun notify missed`` (what ``flowrun ui`` runs every
    minute) finds the slots, once each; a late --due does not send them again."""
    project.write("flows/flow_hourly.py", HOURLY)
    configure(project, command_channel(project, on='["missed"]'))
    assert project.run("--due", env={"FLOWRUN_NOW": "2026-01-05T10:01:00Z"}).exit_code == 0
    early = project.run("notify", "missed", env={"FLOWRUN_NOW": "2026-01-05T11:10:00Z"})
    assert early.exit_code == 0 and "0 missed" in early.output  # 11:00 is 10 min late
    found = project.run("notify", "missed", env={"FLOWRUN_NOW": "2026-01-05T12:20:00Z"})
    assert found.exit_code == 0 and "2 missed" in found.output
    assert [time.strftime("%H:%M", time.gmtime(p["scheduled_for"]))
            for p in payloads(project)] == ["11:00", "12:00"]
    project.run("notify", "missed", env={"FLOWRUN_NOW": "2026-01-05T12:30:00Z"})
    project.run("--due", env={"FLOWRUN_NOW": "2026-01-05T12:40:00Z"})  # runs 12:00 late
    assert len(payloads(project)) == 2


def test_a_paused_flow_misses_no_slot(project):
    """Pausing a schedule skips its slots on purpose: no ``missed`` message for them."""
    project.write("flows/flow_hourly.py", HOURLY)
    configure(project, command_channel(project, on='["missed"]'))
    assert project.run("--due", env={"FLOWRUN_NOW": "2026-01-05T10:01:00Z"}).exit_code == 0
    assert project.run("schedule", "pause", "flows/flow_hourly.py").exit_code == 0
    found = project.run("notify", "missed", env={"FLOWRUN_NOW": "2026-01-05T13:20:00Z"})
    assert found.exit_code == 0 and "0 missed" in found.output
    project.run("--due", env={"FLOWRUN_NOW": "2026-01-05T13:30:00Z"})
    assert payloads(project) == []


def test_notify_alone_lists_its_commands(project):
    result = project.run("notify")
    assert result.exit_code == 4  # a command is missing: a usage error
    assert all(name in result.output for name in ("test", "log", "missed"))
