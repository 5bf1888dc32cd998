"""The API for the pages people live in: runs filtered by tag, partition and host; a
flow's grid of last runs × tasks; logs tail-first, searched with context, downloaded as
text; and every stored log searched at once."""
from __future__ import annotations

import os

from conftest import flow_path

NOISY = """
    import logging
    from flowrun import Flow, task
    flow = Flow(tags=["nightly"])

    @task
    def chatty():
        for i in range(1000):
            print(f"line {i}")
        logging.getLogger("shop").warning("orders.csv missing")
        return [1, 2]

    @task(each="chatty")
    def per(chatty):
        return 1
"""


def test_runs_filter_by_tag_partition_and_host(ui, project):
    project.write("flows/flow_noisy.py", NOISY.replace('each="chatty"', ""))
    project.write("flows/flow_parts.py", """
        from flowrun import Flow, task
        flow = Flow(partitions={"daily": "2026-11-25"})
        @task
        def load(partition): return partition
    """)
    noisy = project.run("flows/flow_noisy.py").runs()[-1]["id"]
    part = project.run("flows/flow_parts.py", "--partition", "2026-11-26").runs()[-1]["id"]
    project.run("flows/flow_demo.py")

    def ids(**params):
        response = ui.get("/api/v1/runs", params=params)
        assert response.status_code == 200, response.text
        return [run["id"] for run in response.json()]

    assert ids(tag="nightly") == [noisy]
    assert ids(partition="2026-11-26") == [part]
    assert len(ids(host=os.uname().nodename)) == 3 and ids(host="elsewhere") == []
    assert ids(tag="nightly", status="succeeded") == [noisy]
    page = ui.get("/", params={"tag": "nightly"}).text
    assert f'data-run-id="{noisy}"' in page and f'data-run-id="{part}"' not in page
    assert 'title="' in page and " ago</time>" in page  # relative, exact on hover


def test_grid_of_last_runs_by_tasks_links_each_cell(ui, project):
    first = project.run("flows/flow_demo.py").runs()[-1]["id"]
    second = project.run("flows/flow_demo.py").runs()[-1]["id"]
    grid = ui.get(f"/api/v1/flows/{flow_path('flows/flow_demo.py')}/grid",
                  params={"limit": 5}).json()
    assert [run["id"] for run in grid["runs"]] == [second, first]
    assert grid["tasks"][:3] == [f"flows/flow_demo.py::{t}" for t in ("extract", "double",
                                                                       "total")]
    assert grid["runs"][0]["cells"]["flows/flow_demo.py::double"] == "succeeded"
    page = ui.get(f"/flows/{flow_path('flows/flow_demo.py')}").text
    assert f'href="/runs/{first}#task-flows_2Fflow_demo.py_3A_3Atotal"' in page
    assert ui.get(f"/api/v1/flows/{flow_path('flows/nope.py')}/grid").status_code == 404


def test_logs_open_on_their_tail_search_with_context_and_download(ui, project):
    project.write("flows/flow_noisy.py", NOISY)
    run_id = project.run("flows/flow_noisy.py").runs()[-1]["id"]
    task = "flows/flow_noisy.py::chatty"
    tail = ui.get(f"/api/v1/runs/{run_id}/logs", params={"task": task, "tail": 3}).json()
    assert tail[0]["stdout"] == "line 997\nline 998\nline 999\n"
    assert tail[0]["lines"]["stdout"] == 1000 and tail[0]["truncated"] is True
    found = ui.get(f"/api/v1/runs/{run_id}/logs",
                   params={"task": task, "q": "LINE 500", "context": 2}).json()
    assert [(m["line"], m["before"], m["after"]) for m in found] == [
        ("line 500", ["line 498", "line 499"], ["line 501", "line 502"])]
    text = ui.get(f"/api/v1/runs/{run_id}/logs.txt", params={"task": task})
    assert text.headers["content-type"].startswith("text/plain")
    assert "attachment" in text.headers["content-disposition"]
    assert text.text.count("\nline ") == 1000 and "orders.csv missing" in text.text
    assert ui.get(f"/api/v1/runs/{run_id}/logs.txt", params={"task": "x"}).status_code == 404


def test_search_finds_lines_in_every_run_and_refuses_long_queries(ui, project):
    project.write("flows/flow_noisy.py", NOISY)
    first = project.run("flows/flow_noisy.py").runs()[-1]["id"]
    second = project.run("flows/flow_noisy.py").runs()[-1]["id"]
    hits = ui.get("/api/v1/search", params={"q": "orders.csv missing"}).json()
    assert [(h["run_id"], h["stream"]) for h in hits] == [(second, "log"), (first, "log")]
    assert hits[0]["task_id"] == "flows/flow_noisy.py::chatty"
    assert ui.get("/api/v1/search", params={"q": "orders", "flow": "flows/flow_demo.py"}
                  ).json() == []
    long = ui.get("/api/v1/search", params={"q": "x" * 1001})
    assert long.status_code == 400 and "1000" in long.json()["error"]
    assert ui.get("/api/v1/search").status_code == 400
    page = ui.get("/search", params={"q": "orders.csv missing"}).text
    assert f'href="/runs/{second}#task-flows_2Fflow_noisy.py_3A_3Achatty"' in page
