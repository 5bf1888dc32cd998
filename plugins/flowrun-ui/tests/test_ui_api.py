"""The REST API end to end: a real ``flowrun ui`` process, real runs (CLI processes and
runs the server starts), a real SQLite store."""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time

import httpx
from conftest import flow_path, start_ui

DEMO = "flows/flow_demo.py"

SLEEPY = """
    import time
    from flowrun import task

    @task
    def nap():
        print("napping now")
        time.sleep(30)
"""

FLAKY = """
    import os
    from flowrun import task

    @task
    def first():
        return 1

    @task
    def second(first):
        if not os.path.exists("fixed"):
            raise RuntimeError("not fixed yet")
        return first + 1
"""


def _wait_for_task(ui, run_id: str, task_id: str, status: str) -> None:
    ui.wait(run_id, lambda r: any(t["task_id"] == task_id and t["status"] == status
                                  for t in r["tasks"]))


def test_runs_lists_a_cli_run_newest_first_with_task_counts(ui, project):
    older = project.run("-q").runs()[-1]["id"]
    newer = project.run("-q").runs()[-1]["id"]
    runs = ui.get("/api/v1/runs").json()
    assert [r["id"] for r in runs] == [newer, older]
    assert runs[0]["flow_id"] == DEMO and runs[0]["status"] == "succeeded"
    assert runs[0]["counts"]["succeeded"] >= 5 and runs[0]["duration"] >= 0
    assert runs[0]["started"].endswith("+00:00")
    assert [r["id"] for r in ui.get("/api/v1/runs", params={"before": newer}).json()] == [older]
    assert ui.get("/api/v1/runs", params={"limit": 1}).json()[0]["id"] == newer


def test_run_detail_has_every_task_with_its_attempts(ui, project):
    project.write("flows/flow_flaky.py", FLAKY)
    run_id = project.run("flows/flow_flaky.py").runs()[-1]["id"]
    run = ui.run(run_id)
    tasks = {t["task_id"]: t for t in run["tasks"]}
    second = tasks["flows/flow_flaky.py::second"]
    assert run["status"] == "failed" and second["status"] == "failed"
    assert "not fixed yet" in second["error"]
    assert [a["number"] for a in second["attempts"]] == [1]
    assert tasks["flows/flow_flaky.py::first"]["status"] == "succeeded"


def test_unknown_ids_are_404_and_bad_input_400_never_500(ui):
    for path in ("/api/v1/runs/nosuchrun", "/api/v1/runs/..%2F..%2Fetc",
                 f"/api/v1/flows/{flow_path('flows/nope.py')}",
                 "/api/v1/runs/nosuchrun/logs"):
        response = ui.get(path)
        assert response.status_code == 404, path
        assert "error" in response.json()
    assert ui.get("/api/v1/runs", params={"limit": "lots"}).status_code == 400
    assert ui.get("/api/v1/runs", params={"status": "happy"}).status_code == 400
    assert ui.get("/api/v1/runs", params={"before": "nosuchrun"}).status_code == 404
    bad = ui.post(f"/api/v1/flows/{flow_path(DEMO)}/runs", {"params": {"nope": 1}})
    assert bad.status_code == 400 and "nope" in bad.json()["error"]
    recorded = ui.run(bad.json()["run_id"])  # kept, like a bad `flowrun --param`
    assert recorded["status"] == "failed" and "nope" in recorded["error"]
    assert ui.post(f"/api/v1/flows/{flow_path(DEMO)}/runs", {"colour": "red"}
                   ).status_code == 400
    assert ui.post(f"/api/v1/flows/{flow_path(DEMO)}/runs", {"params": {"rows": [1]}}
                   ).status_code == 400


def test_state_changing_requests_need_a_json_body_and_no_foreign_origin(ui):
    form = ui.http.post(f"/api/v1/flows/{flow_path(DEMO)}/runs", data={"params": "x"})
    assert form.status_code == 400 and "JSON" in form.json()["error"]
    text = ui.http.post(f"/api/v1/flows/{flow_path(DEMO)}/runs", content=b"{}",
                        headers={"Content-Type": "text/plain"})
    assert text.status_code == 400
    foreign = ui.post(f"/api/v1/flows/{flow_path(DEMO)}/runs",
                      headers={"Origin": "http://evil.example"})
    assert foreign.status_code == 400 and "another site" in foreign.json()["error"]
    assert ui.get("/api/v1/runs").json() == []
    empty = ui.http.post(f"/api/v1/flows/{flow_path(DEMO)}/runs")  # no body: defaults
    assert empty.status_code == 202
    assert ui.wait(empty.json()["run_id"])["status"] == "succeeded"


def test_a_started_run_is_readable_at_once_and_runs_in_its_own_process(ui):
    response = ui.post(f"/api/v1/flows/{flow_path(DEMO)}/runs", {"params": {"rows": 4}})
    assert response.status_code == 202
    run_id = response.json()["run_id"]
    assert ui.get(f"/api/v1/runs/{run_id}").status_code == 200  # before the child wrote it
    run = ui.wait(run_id)
    assert run["status"] == "succeeded" and run["params"] == {"rows": 4}
    assert run["pid"] != ui.proc.pid
    doubles = [t for t in run["tasks"] if "::double[" in t["task_id"]]
    assert len(doubles) == 4


def test_a_run_that_cannot_start_says_why(ui):
    run_id = ui.post(f"/api/v1/flows/{flow_path(DEMO)}/runs",
                     {"params": {"rows": "many"}}).json()["run_id"]
    run = ui.wait(run_id)
    assert run["status"] == "failed" and "rows" in run["error"]
    listed = {r["id"]: r for r in ui.get("/api/v1/runs").json()}
    assert "rows" in listed[run_id]["error"]  # kept in the store, not only by the UI
    assert "not started: --param rows" in ui.http.get("/").text
    assert "expected an int" in ui.http.get(f"/runs/{run_id}").text


def test_cancel_interrupts_a_running_run_like_ctrl_c(project):
    project.write("flows/flow_sleepy.py", SLEEPY)
    project.write("flowrun.toml", "interrupt_grace = 0.5\n")
    ui = start_ui(project.path)
    try:
        _cancel_sleepy(ui)
    finally:
        ui.stop()


def _cancel_sleepy(ui) -> None:
    run_id = ui.post(f"/api/v1/flows/{flow_path('flows/flow_sleepy.py')}/runs").json()["run_id"]
    _wait_for_task(ui, run_id, "flows/flow_sleepy.py::nap", "running")
    assert ui.post(f"/api/v1/runs/{run_id}/cancel").status_code == 202
    run = ui.wait(run_id, timeout=20)
    assert run["status"] == "interrupted"
    logs = ui.get(f"/api/v1/runs/{run_id}/logs").json()  # printed before the cancel
    assert any("napping now" in entry["stdout"] for entry in logs), logs
    again = ui.post(f"/api/v1/runs/{run_id}/cancel")
    assert again.status_code == 409 and "not running" in again.json()["error"]


def test_resume_reruns_what_failed_and_reuses_what_succeeded(ui, project):
    project.write("flows/flow_flaky.py", FLAKY)
    failed = project.run("flows/flow_flaky.py").runs()[-1]["id"]
    (project.path / "fixed").write_text("")
    response = ui.post(f"/api/v1/runs/{failed}/resume")
    assert response.status_code == 202
    run = ui.wait(response.json()["run_id"])
    statuses = {t["task_id"]: t["status"] for t in run["tasks"]}
    assert run["status"] == "succeeded" and run["resumed_from"] == failed
    assert statuses["flows/flow_flaky.py::first"] == "cached"
    assert ui.post(f"/api/v1/runs/{run['id']}/resume").status_code == 409


def test_a_run_whose_process_died_shows_interrupted(ui, project):
    project.write("flows/flow_sleepy.py", SLEEPY)
    proc = project.popen("flows/flow_sleepy.py")
    try:
        deadline = time.time() + 30
        while not ui.get("/api/v1/runs", params={"status": "running"}).json():
            assert time.time() < deadline, "the run never showed up"
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
    run = ui.get("/api/v1/runs").json()[0]
    assert run["status"] == "interrupted"
    assert "interrupted" in project.run("history").output


def test_logs_give_captured_output_per_task_and_attempt(ui, project):
    run_id = project.run("-q").runs()[-1]["id"]
    logs = ui.get(f"/api/v1/runs/{run_id}/logs",
                  params={"task": f"{DEMO}::extract"}).json()
    assert logs == [{"task_id": f"{DEMO}::extract", "attempt": 1, "status": "succeeded",
                     "stdout": "extracting 3 rows\n", "stderr": "", "log": ""}]
    every = ui.get(f"/api/v1/runs/{run_id}/logs").json()
    assert {entry["task_id"] for entry in every} >= {f"{DEMO}::extract", f"{DEMO}::total"}
    missing = ui.get(f"/api/v1/runs/{run_id}/logs", params={"task": f"{DEMO}::nope"})
    assert missing.status_code == 404


def test_flows_lists_each_flow_with_last_run_and_collection_errors(ui, project):
    project.write("flows/flow_broken.py", "from flowrun import task\n@task\ndef a(nothing): pass\n")
    project.write("flows/flow_cron.py", """
        from flowrun import Flow, task
        flow = Flow(schedule="0 6 * * *")
        @task
        def t(): pass
    """)
    run_id = project.run(DEMO, "-q").runs()[-1]["id"]
    flows = {f["id"]: f for f in ui.get("/api/v1/flows").json()}
    assert flows[DEMO]["tags"] == ["daily"] and flows[DEMO]["last_run"]["id"] == run_id
    assert flows["flows/flow_cron.py"]["schedule"] == "0 6 * * *"
    assert flows["flows/flow_cron.py"]["next_due"].endswith("+00:00")
    assert "nothing" in flows["flows/flow_broken.py"]["error"]
    detail = ui.get(f"/api/v1/flows/{flow_path(DEMO)}").json()
    assert detail["params"] == [{"name": "rows", "type": "int", "default": 3}]
    assert {t["name"] for t in detail["tasks"]} == {"extract", "double", "total"}
    assert detail["label"] == DEMO and "extract" in detail["graph"]["tasks"]


PARTED = """
    from flowrun import Flow, task
    flow = Flow(partitions=["eu", "us", "asia"])
    @task
    def load(partition):
        if partition == "asia":
            raise ValueError("no data")
        return partition
"""


def test_partition_grid_and_backfill_of_missing_and_failed_cells(ui, project):
    project.write("flows/flow_parts.py", PARTED)
    project.run("flows/flow_parts.py", "--partition", "eu")
    project.run("flows/flow_parts.py", "--partition", "asia")
    path = f"/api/v1/flows/{flow_path('flows/flow_parts.py')}"
    cells = {c["key"]: c["status"] for c in ui.get(f"{path}/partitions").json()["cells"]}
    assert cells == {"eu": "succeeded", "us": "missing", "asia": "failed"}
    response = ui.post(f"{path}/backfill", {"start": "", "end": "", "only": "missing"})
    assert response.status_code == 400  # start and end are required
    response = ui.post(f"{path}/backfill", {"start": "x", "end": "y", "only": "missing"})
    assert response.status_code == 202
    (run_id,) = response.json()["run_ids"]
    assert ui.wait(run_id)["partition"] == "us"
    failed = ui.post(f"{path}/backfill", {"start": "x", "end": "y", "only": "failed"}).json()
    assert len(failed["run_ids"]) == 1
    ui.wait(failed["run_ids"][0])
    again = ui.post(f"{path}/backfill", {"start": "x", "end": "y", "only": "missing"})
    assert again.json() == {"run_ids": []}


def test_events_bring_runs_started_in_another_process(ui, project):
    seen: list[tuple[str, dict]] = []
    opened = threading.Event()

    def listen() -> None:
        with httpx.stream("GET", ui.url + "events", timeout=30) as response:
            kind = None
            for line in response.iter_lines():
                opened.set()
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    seen.append((kind, json.loads(line[6:])))
                    if kind == "run" and seen[-1][1]["status"] == "succeeded":
                        return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert opened.wait(10)
    run_id = project.run_subprocess(DEMO, "-q").runs()[-1]["id"]
    thread.join(20)
    runs = [data["status"] for kind, data in seen if kind == "run" and data["id"] == run_id]
    assert runs[0] == "running" and runs[-1] == "succeeded"
    tasks = {data["task_id"] for kind, data in seen if kind == "task"}
    assert f"{DEMO}::total" in tasks


def test_another_address_needs_the_token_and_a_page_sets_a_strict_cookie(project):
    project.write("flows/flow_demo.py", "from flowrun import task\n@task\ndef t(): pass\n")
    server = start_ui(project.path, "--host", "0.0.0.0", env={"FLOWRUN_UI_TOKEN": "s3cret"},
                      token="s3cret")
    try:
        bare = httpx.get(server.url + "api/v1/runs")
        assert bare.status_code == 401 and "token" in bare.json()["error"]
        assert httpx.get(server.url + "events").status_code == 401
        assert server.get("/api/v1/runs").status_code == 200
        page = httpx.get(server.url + "?token=s3cret")
        cookie = page.headers["set-cookie"]
        assert page.status_code == 200
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        with httpx.Client(base_url=server.url, cookies=page.cookies) as browser:
            assert browser.get("/api/v1/flows").status_code == 200
        assert httpx.get(server.url + "?token=wrong").status_code == 401
    finally:
        server.stop()


def test_loopback_server_refuses_other_host_names(ui):
    response = ui.get("/api/v1/runs", headers={"Host": "evil.example:80"})
    assert response.status_code == 400


def test_runs_record_pid_and_host_in_the_store(project):
    project.write("flows/flow_demo.py", "from flowrun import task\n@task\ndef t(): pass\n")
    result = project.run_subprocess("-q")
    with project.storage() as store:
        (run,) = store.list_runs()
        pid, host = run.pid, run.host
    assert pid > 0 and pid != os.getpid() and host == os.uname().nodename
    assert result.exit_code == 0


def test_version_does_not_import_the_ui(project):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "flowrun", "--version"],
                          cwd=project.path, capture_output=True, text=True)
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert done.returncode == 0 and "flowrun" in imported
    assert not {m for m in imported if m.split(".")[0] in ("flowrun_ui", "fastapi")}


def test_backfill_of_a_date_range_runs_each_missing_day_once(ui, project):
    project.write("flows/flow_daily.py", """
        from flowrun import Flow, task
        flow = Flow(partitions={"daily": "2026-11-01"})
        @task
        def load(partition): return partition
    """)
    project.run("flows/flow_daily.py", "--partition", "2026-11-02")
    path = f"/api/v1/flows/{flow_path('flows/flow_daily.py')}"
    body = {"start": "2026-11-01", "end": "2026-11-03", "only": "missing"}
    run_ids = ui.post(f"{path}/backfill", body).json()["run_ids"]
    assert len(run_ids) == 2
    assert sorted(ui.wait(r)["partition"] for r in run_ids) == ["2026-11-01", "2026-11-03"]
    grid = ui.get(f"{path}/partitions").json()
    cells = {c["key"]: c["status"] for c in grid["cells"]}
    assert {k: cells[k] for k in ("2026-11-01", "2026-11-02", "2026-11-03")} == {
        "2026-11-01": "succeeded", "2026-11-02": "succeeded", "2026-11-03": "succeeded"}
    bad = ui.post(f"{path}/backfill", {"start": "yesterday", "end": "2026-11-03"})
    assert bad.status_code == 400 and "yesterday" in bad.json()["error"]


def test_flow_listing_follows_edits_of_flow_files(ui, project):
    path = f"/api/v1/flows/{flow_path(DEMO)}"
    assert [p["name"] for p in ui.get(path).json()["params"]] == ["rows"]
    project.write("flows/flow_demo.py", "from flowrun import task\n"
                  "@task\ndef only(day: str = 'mon'): pass\n")
    assert [p["name"] for p in ui.get(path).json()["params"]] == ["day"]
    (project.path / "flows" / "flow_demo.py").unlink()
    assert ui.get(path).status_code == 404


def test_metrics_serves_the_prometheus_text_of_the_store(ui, project):
    from prometheus_client.parser import text_string_to_metric_families

    project.run(DEMO)
    response = ui.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    runs = {f.name: f for f in text_string_to_metric_families(response.text)}["flowrun_runs"]
    assert [(s.labels, s.value) for s in runs.samples] == [
        ({"flow": DEMO, "status": "succeeded"}, 1.0)]


def test_the_ui_notices_missed_cron_slots_when_no_due_runs(project):
    """``flowrun ui`` checks at its start (then every minute): slots nobody started are
    sent to the project's channels, as ``--due`` would."""
    script = project.write("record.py", """
        import sys
        with open("payloads.jsonl", "a") as out:
            out.write(sys.stdin.read().strip() + "\\n")
    """)
    project.write("flowrun.toml", f'[[notify]]\ncommand = ["{sys.executable}", "{script}"]\n'
                  'on = ["missed"]\n')
    project.write("flows/flow_hourly.py", """
        from flowrun import Flow, task
        flow = Flow(schedule="0 * * * *")

        @task
        def tick():
            return 1
    """)
    assert project.run("--due", env={"FLOWRUN_NOW": "2026-01-05T10:01:00Z"}).exit_code == 0
    server = start_ui(project.path, env={"FLOWRUN_NOW": "2026-01-05T12:20:00Z"})
    try:
        received = project.path / "payloads.jsonl"
        deadline = time.monotonic() + 30
        while len(received.read_text().splitlines() if received.exists() else []) < 2:
            assert time.monotonic() < deadline, "no missed message came"
            time.sleep(0.1)
    finally:
        server.stop()
    assert [json.loads(line)["event"] for line in received.read_text().splitlines()] == \
        ["missed", "missed"]
