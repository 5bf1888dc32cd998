"""A real ``flowrun ui`` process on a free port, over a project made by flowrun's own
``project`` fixture; requests go through httpx over real sockets. Test modules import
from here (not from ``conftest``: another test folder's conftest may own that name)."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from typing import Any
from urllib.parse import quote

import httpx

from flowrun.testing import flowrun_command

FLOW = """
    import time
    from flowrun import Flow, task

    flow = Flow(tags=["daily"])

    @task
    def extract(rows: int = 3):
        print(f"extracting {rows} rows")
        return list(range(rows))

    @task(each="extract")
    def double(extract):
        return extract * 2

    @task
    def total(double):
        return sum(double)
"""


class UI:
    """A running ``flowrun ui``: its URL, an HTTP client, helpers to wait for runs."""

    def __init__(self, proc: subprocess.Popen, url: str, token: str | None = None) -> None:
        self.proc, self.url, self.token = proc, url, token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=url, headers=headers, timeout=30)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        return self.http.post(path, json={} if body is None else body, **kwargs)

    def run(self, run_id: str) -> dict[str, Any]:
        response = self.get(f"/api/v1/runs/{run_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def wait(self, run_id: str, until: Any = lambda r: r["status"] != "running",
             timeout: float = 60) -> dict[str, Any]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            run = self.run(run_id)
            if until(run):
                return run
            time.sleep(0.1)
        raise AssertionError(f"run {run_id} never got there: {run}")

    def stop(self) -> None:
        self.http.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()


def start_ui(path: Any, *args: str, env: dict[str, str] | None = None,
             token: str | None = None) -> UI:
    """Start ``flowrun ui --port 0 ARGS`` in ``path``; return once it printed its URL."""
    proc = subprocess.Popen(
        flowrun_command("ui", "--port", "0", *args), cwd=path,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if " at http" not in line:
        proc.kill()
        raise AssertionError(f"flowrun ui did not start: {line}{proc.stderr.read()}")
    url = line.rsplit(" at ", 1)[1].strip()
    if "0.0.0.0" in url:
        url = url.replace("0.0.0.0", "127.0.0.1")
    return UI(proc, url, token)


def flow_path(flow_id: str) -> str:
    return quote(flow_id, safe="")
