"""The optional store capabilities on a real PostgreSQL server, end to end through
``flowrun`` processes of several hosts (``FLOWRUN_HOSTNAME``) sharing one store: cached
tasks, paused schedules, notifications, metrics and log search."""
from __future__ import annotations

import json
import sys

import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from flowrun.storage.sqlite import SqliteStorage
from flowrun_postgres.store import PostgresStorage

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
    assert set(quick_keys(pg_url)) == {"flows/flow_c.py::a", "flows/flow_c.py::b"}
    third = project.run_subprocess("-v", env=on("host-c"))  # the quick way: keys alone
    assert set(third.statuses().values()) == {"cached"}, third.output
    assert third.result("flows/flow_c.py::b") == 300_000
    assert (project.path / "ran").read_text() == "a"


def quick_keys(url: str) -> dict[str, str]:
    """The quick keys the store keeps for flow_c, by task id."""
    store = PostgresStorage(url)
    try:
        return {task_id: row[0]
                for task_id, row in store.quick_fingerprints("flows/flow_c.py", "").items()}
    finally:
        store.close()


def test_fingerprints_from_before_quick_keys_get_them_on_the_next_run(project, pg_url):
    configure(project, pg_url)
    project.write("flows/flow_c.py", CACHED)
    assert project.run_subprocess(env=on("host-a")).exit_code == 0
    with psycopg.connect(pg_url, autocommit=True) as conn:  # as schema 5 left it
        conn.execute("ALTER TABLE flowrun_fingerprints DROP COLUMN quick")  # the file format
        conn.execute("UPDATE flowrun_schema SET version = 5")  # the file format
    upgraded = project.run_subprocess("-v", env=on("host-b"))  # judged the long way
    assert set(upgraded.statuses().values()) == {"cached"}, upgraded.output
    assert set(quick_keys(pg_url)) == {"flows/flow_c.py::a", "flows/flow_c.py::b"}
    again = project.run_subprocess("-v", env=on("host-c"))
    assert set(again.statuses().values()) == {"cached"}, again.output
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


FAILING = """
    from flowrun import task

    @task(retries=1)
    def load():
        print("orders.csv missing: nothing to load")
        raise ValueError("orders.csv missing")
"""
GOOD = """
    from flowrun import task

    @task(each={"n": [1, 2, 3]})
    def part(n):
        return n
"""


def test_a_failed_run_sends_one_notification_seen_by_every_host(project, pg_url):
    script = project.write("record.py", """
        import sys
        with open("payloads.jsonl", "a") as out:
            out.write(sys.stdin.read().strip() + "\\n")
    """)
    project.write("flowrun.toml", f'store = "{pg_url}"\nnotify_wait = 5\n[[notify]]\n'
                  f'command = ["{sys.executable}", "{script}"]\non = ["failed"]\n')
    project.write("flows/flow_orders.py", FAILING)
    failed = project.run_subprocess(env=on("host-a"))
    assert failed.exit_code == 1, failed.output
    [payload] = [json.loads(line) for line in
                 (project.path / "payloads.jsonl").read_text().splitlines()]
    assert payload["event"] == "failed" and payload["flow"] == "flows/flow_orders.py"
    log = project.run_subprocess("notify", "log", env=on("host-b"))
    assert log.exit_code == 0 and "failed" in log.output and "sent" in log.output


def test_metrics_are_aggregated_by_the_server(project, pg_url):
    configure(project, pg_url)
    project.write("flows/flow_good.py", GOOD)
    project.write("flows/flow_orders.py", FAILING)
    assert project.run_subprocess(env=on("host-a")).exit_code == 1
    assert project.run_subprocess("flows/flow_good.py", env=on("host-b")).exit_code == 0
    result = project.run_subprocess("metrics", env=on("host-c"))
    assert result.exit_code == 0, result.output
    found = {f.name: f for f in text_string_to_metric_families(result.stdout)}
    runs = {tuple(sorted(s.labels.items())): s.value
            for s in found["flowrun_runs"].samples if s.name == "flowrun_runs_total"}
    assert runs == {(("flow", "flows/flow_good.py"), ("status", "succeeded")): 2,
                    (("flow", "flows/flow_orders.py"), ("status", "failed")): 1}
    tasks = {tuple(sorted(s.labels.items())): s.value
             for s in found["flowrun_task_duration_seconds"].samples
             if s.name == "flowrun_task_duration_seconds_count"}
    assert tasks[(("flow", "flows/flow_good.py"), ("task", "part"))] == 6
    assert tasks[(("flow", "flows/flow_orders.py"), ("task", "load"))] == 2


@pytest.mark.parametrize("buckets", [(1.0, 5.0), (0.5, 1.0, 2.0, 3.0, 10.0), ()])
def test_duration_buckets_are_those_of_the_sqlite_store(tmp_path, pg_url, buckets):
    """The same records in both stores give the same histograms, bounds included."""
    from flowrun.plugin import Report, Run

    stores = [PostgresStorage(pg_url), SqliteStorage(str(tmp_path / "runs.db"))]
    try:
        for store in stores:
            for number, duration in enumerate((0.5, 1.0, 2.0, 3.5, 10.0, 60.0)):
                run = Run(id=f"r{number}", flow_id="flows/flow_a.py", started=100.0)
                store.run_started(run)
                store.record(Report(run_id=run.id, flow_id=run.flow_id, attempt=1,
                                    task_id=f"flows/flow_a.py::t[{number}]",
                                    status="succeeded", started=100.0,
                                    finished=100.0 + duration))
                run.status, run.finished = "succeeded", 100.0 + duration
                store.run_finished(run)
        figures = [store.metrics(buckets) for store in stores]
        for key in ("runs", "run_durations", "task_durations", "last_success"):
            assert figures[0][key] == figures[1][key], key
    finally:
        for store in stores:
            store.close()


def test_a_message_and_a_missed_slot_are_taken_once_by_hosts_racing(pg_url):
    """Eight stores (as eight hosts) claim one due message and note one missed slot at
    the same instant: exactly one of each succeeds."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    stores = [PostgresStorage(pg_url) for _ in range(8)]
    try:
        stores[0].outbox_add({"key": "k", "channel": "c", "label": "l", "event": "failed",
                              "flow": "f", "run_id": "r", "payload": "{}",
                              "created": 1.0, "next_try": 1.0})
        [due] = stores[0].outbox_due(now=2.0)
        barrier = Barrier(len(stores))

        def race(store):
            barrier.wait()
            return (store.outbox_claim(due["id"], now=2.0, lease=60.0),
                    store.note_missed("flows/flow_h.py", 3600.0, now=2.0))

        with ThreadPoolExecutor(len(stores)) as pool:
            outcomes = list(pool.map(race, stores))
        assert sum(claimed for claimed, _ in outcomes) == 1
        assert sum(noted for _, noted in outcomes) == 1
    finally:
        for store in stores:
            store.close()


def test_logs_grep_finds_lines_of_every_hosts_runs_as_a_phrase(project, pg_url):
    configure(project, pg_url)
    project.write("flows/flow_orders.py", FAILING)
    first = project.run_subprocess(env=on("host-a"))
    second = project.run_subprocess(env=on("host-b"))
    ids = [first.new_runs()[0]["id"], second.new_runs()[0]["id"]]
    found = project.run_subprocess("logs", "--grep", "Orders.CSV missing", env=on("host-c"))
    assert found.exit_code == 0, found.output
    lines = found.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [ids[1], ids[1], ids[0], ids[0]]
    assert "flows/flow_orders.py::load (attempt 2, stdout:1)" in lines[0]
    reversed_words = project.run_subprocess("logs", "--grep", "missing orders",
                                            env=on("host-c"))
    assert "no stored line holds 'missing orders'" in reversed_words.output  # a phrase


def test_a_runs_trace_id_is_shown_from_another_host(project, pg_url):
    pytest.importorskip("flowrun_otel", reason="needs plugins/flowrun-otel")
    configure(project, pg_url)
    project.write("flows/flow_good.py", GOOD)
    traced = project.run_subprocess("--otel", env=on("host-a",
                                                    OTEL_TRACES_EXPORTER="console"))
    assert traced.exit_code == 0, traced.output
    run_id = traced.new_runs()[0]["id"]
    shown = project.run_subprocess("show", run_id, "--json", env=on("host-b"))
    trace_id = json.loads(shown.stdout)["trace_id"]
    assert len(trace_id) == 32 and int(trace_id, 16)
    assert trace_id in traced.stdout  # the console exporter printed that trace's spans
