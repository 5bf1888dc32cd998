"""``flowrun ui`` on the shared store: a run started by another host shows up live on
its event stream (LISTEN/NOTIFY) and in its API."""
from __future__ import annotations

import json
import os
import subprocess
import threading

import pytest

from flowrun.testing import flowrun_command

httpx = pytest.importorskip("httpx", reason="flowrun-ui's test extra is not installed")
pytest.importorskip("flowrun_ui", reason="flowrun-ui is not installed")

FLOW = """
    from flowrun import task

    @task
    def extract():
        return [1, 2, 3]

    @task
    def total(extract):
        return sum(extract)
"""


def test_the_ui_shows_another_hosts_run_live(project, pg_url):
    project.write("flows/flow_demo.py", FLOW)
    env = {k: v for k, v in os.environ.items() if k != "FLOWRUN_STORE"}
    ui = subprocess.Popen(flowrun_command("ui", "--port", "0", "--store", pg_url),
                          cwd=project.path, env={**env, "PYTHONUNBUFFERED": "1"},
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = ui.stdout.readline()
        assert " at http" in line, line + ui.stderr.read()
        url = line.rsplit(" at ", 1)[1].strip()
        seen: list[tuple[str | None, dict]] = []
        opened = threading.Event()

        def listen() -> None:
            with httpx.stream("GET", url + "events", timeout=30) as response:
                kind = None
                for text in response.iter_lines():
                    opened.set()
                    if text.startswith("event: "):
                        kind = text[7:]
                    elif text.startswith("data: "):
                        seen.append((kind, json.loads(text[6:])))
                        if kind == "run" and seen[-1][1]["status"] == "succeeded":
                            return

        thread = threading.Thread(target=listen, daemon=True)
        thread.start()
        assert opened.wait(10)
        other = subprocess.run(flowrun_command("-q"), cwd=project.path, timeout=60,
                               env={**env, "FLOWRUN_STORE": pg_url,
                                    "FLOWRUN_HOSTNAME": "host-b"}, capture_output=True)
        assert other.returncode == 0, other.stdout + other.stderr
        thread.join(20)
        statuses = [data["status"] for kind, data in seen if kind == "run"]
        assert statuses and statuses[0] == "running" and statuses[-1] == "succeeded"
        assert "flows/flow_demo.py::total" in {d["task_id"] for k, d in seen if k == "task"}
        (run,) = httpx.get(url + "api/v1/runs", timeout=30).json()
        assert (run["status"], run["host"]) == ("succeeded", "host-b")
    finally:
        ui.terminate()
        ui.communicate(timeout=10)
