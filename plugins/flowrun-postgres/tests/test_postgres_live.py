"""``flowrun ui``'s reads on PostgreSQL: changes arrive through LISTEN/NOTIFY, and an
idle store answers from the notification socket alone."""
from __future__ import annotations

import time

from flowrun.contract.storage import make_report, make_run
from flowrun.plugin import LiveStore
from flowrun_postgres.store import PostgresStorage


def changes_until(viewer, cursor, predicate):
    deadline = time.monotonic() + 5
    while True:
        cursor, runs, reports = viewer.changes(cursor)
        if predicate(runs, reports) or time.monotonic() > deadline:
            return cursor, runs, reports
        time.sleep(0.02)


def test_changes_of_another_host_arrive_and_an_idle_store_reports_none(pg_url):
    viewer, writer = PostgresStorage(pg_url), PostgresStorage(pg_url)
    try:
        assert isinstance(viewer, LiveStore)
        cursor, runs, reports = viewer.changes(None)
        assert (runs, reports) == ([], [])
        run = make_run("r00000000001")
        writer.run_started(run)
        writer.record(make_report(run, "a", status="running"))
        writer.flush()
        cursor, runs, reports = changes_until(viewer, cursor, lambda r, t: r and t)
        assert [r.id for r in runs] == [run.id] and [t.task_id for t in reports] == [
            "flows/flow_a.py::a"]
        time.sleep(0.1)
        cursor = viewer.changes(cursor)[0]  # the notifications of those writes, drained
        assert viewer.changes(cursor) == (cursor, [], [])  # nothing new: no query made
        run.status, run.finished = "succeeded", time.time()
        writer.run_finished(run)
        cursor, runs, _ = changes_until(viewer, cursor, lambda r, t: r)
        assert [(r.id, r.status) for r in runs] == [(run.id, "succeeded")]
        (page,) = viewer.runs_page(limit=10)
        assert page.id == run.id
    finally:
        viewer.close()
        writer.close()
