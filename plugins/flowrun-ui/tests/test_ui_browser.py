"""The pages in a real browser: Debian's Chromium driven by Playwright (never
``playwright install``: no internet). Every request must stay on the server, and the
console must stay free of errors."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from ui_server import flow_path

CHROMIUM = "/usr/bin/chromium"
pytestmark = [pytest.mark.slow,  # a browser clicking through: CI's slow job runs it
              pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                 reason="needs Debian's Chromium at /usr/bin/chromium")]
SHOTS = Path(os.environ.get("FLOWRUN_UI_SHOTS", "")) if os.environ.get(
    "FLOWRUN_UI_SHOTS") else None


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield chromium
        chromium.close()


class Watched:
    """A page that records every request's URL and every console error."""

    def __init__(self, browser, base: str) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 860})
        self.page = self.context.new_page()
        self.base = base.rstrip("/")
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def open(self, path: str) -> None:
        self.page.goto(self.base + path)

    def shot(self, name: str) -> None:
        if SHOTS is not None:
            SHOTS.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    def check_clean(self) -> None:
        foreign = [url for url in self.requests if not url.startswith(self.base)]
        assert not foreign, f"requests left the server: {foreign}"
        assert not self.errors, f"console errors: {self.errors}"
        self.context.close()


def test_runs_page_shows_a_cli_run_and_then_a_new_one_live(browser, ui, project):
    first = project.run("-q").runs()[-1]["id"]
    watched = Watched(browser, ui.url)
    watched.open("/")
    row = watched.page.locator(f'tr[data-run-id="{first}"]')
    assert row.get_attribute("data-status") == "succeeded"
    second = project.run_subprocess("-q").runs()[-1]["id"]  # another process
    live = watched.page.locator(f'tr[data-run-id="{second}"][data-status="succeeded"]')
    live.wait_for(timeout=10_000)
    watched.shot("runs")
    watched.check_clean()


def test_run_page_graph_statuses_match_the_store(browser, ui, project):
    project.write("flows/flow_mixed.py", """
        from flowrun import task, skip
        @task
        def ok(): return 1
        @task
        def boom(ok): raise ValueError("boom")
        @task
        def after(boom): return 2
        @task
        def quiet(ok): skip("nothing to do")
    """)
    run_id = project.run("flows/flow_mixed.py").runs()[-1]["id"]
    watched = Watched(browser, ui.url)
    watched.open(f"/runs/{run_id}")
    nodes = watched.page.locator("svg.graph g.node")
    shown = {nodes.nth(i).get_attribute("data-task-id"): nodes.nth(i).get_attribute(
        "data-status") for i in range(nodes.count())}
    with project.storage() as store:
        stored = {a.task_id: a.status for a in store.attempts(run_id)}
    assert shown == stored
    assert shown["flows/flow_mixed.py::boom"] == "failed"
    colour = watched.page.locator('g.node[data-status="failed"] rect').evaluate(
        "r => getComputedStyle(r).fill")
    assert colour != watched.page.locator('g.node[data-status="succeeded"] rect').evaluate(
        "r => getComputedStyle(r).fill")
    watched.page.locator('details.task[data-task-id="flows/flow_mixed.py::boom"] summary').click()
    watched.page.get_by_text("ValueError: boom").first.wait_for()
    watched.shot("run")
    watched.check_clean()


def test_run_button_starts_a_run_with_the_form_parameters(browser, ui):
    watched = Watched(browser, ui.url)
    watched.open(f"/flows/{flow_path('flows/flow_demo.py')}")
    watched.page.fill('input[name="rows"]', "5")
    watched.shot("flow")
    watched.page.click("#run-button")
    watched.page.wait_for_url("**/runs/*")
    run_id = watched.page.url.rsplit("/", 1)[1]
    run = ui.wait(run_id)
    assert run["status"] == "succeeded" and run["params"] == {"rows": 5}
    watched.open(f"/runs/{run_id}")
    assert watched.page.locator('g.node[data-task-id="flows/flow_demo.py::double"]'
                                ).get_attribute("data-status") == "succeeded"
    watched.check_clean()


def test_flows_and_partitions_pages_render(browser, ui, project):
    project.write("flows/flow_parts.py", """
        from flowrun import Flow, task
        flow = Flow(partitions={"daily": "2026-11-25", "categories": ["eu", "us"]})
        @task
        def load(partition): return partition
    """)
    project.run("flows/flow_parts.py", "--partition", "2026-11-26/eu")
    watched = Watched(browser, ui.url)
    watched.open("/flows")
    assert watched.page.locator('tr[data-flow-id="flows/flow_parts.py"]').count() == 1
    watched.open(f"/flows/{flow_path('flows/flow_parts.py')}/partitions")
    cell = watched.page.locator('td[data-key="2026-11-26/eu"]')
    assert cell.get_attribute("data-status") == "succeeded"
    assert watched.page.locator('td[data-key="2026-11-26/us"]').get_attribute(
        "data-status") == "missing"
    watched.shot("partitions")
    watched.check_clean()


def test_resume_button_reruns_a_failed_run(browser, ui, project):
    project.write("flows/flow_flaky.py", """
        import os
        from flowrun import task
        @task
        def first(): return 1
        @task
        def second(first):
            if not os.path.exists("fixed"):
                raise RuntimeError("not fixed yet")
    """)
    failed = project.run("flows/flow_flaky.py").runs()[-1]["id"]
    (project.path / "fixed").write_text("")
    watched = Watched(browser, ui.url)
    watched.open(f"/runs/{failed}")
    assert watched.page.locator('button[data-action="cancel"]').is_disabled()
    watched.page.click('button[data-action="resume"]')
    watched.page.wait_for_url(lambda url: not url.endswith(failed))
    resumed = ui.wait(watched.page.url.rsplit("/", 1)[1])
    assert resumed["status"] == "succeeded" and resumed["resumed_from"] == failed
    watched.page.locator('.run-status .badge.st-succeeded').wait_for(timeout=10_000)
    watched.check_clean()


def test_run_page_follows_a_running_run_to_its_end(browser, ui, project):
    project.write("flows/flow_wait.py", """
        import os, time
        from flowrun import task
        @task
        def items(): return [1, 2, 3]
        @task(each="items")
        def wait(items):
            while not os.path.exists("go"):
                time.sleep(0.05)
            return items
    """)
    proc = project.popen("flows/flow_wait.py")
    try:
        run_id = _first_running(ui)
        ui.wait(run_id, lambda r: any("::wait[" in t["task_id"] and t["status"] == "running"
                                      for t in r["tasks"]))
        watched = Watched(browser, ui.url)
        watched.open(f"/runs/{run_id}")
        node = 'g.node[data-task-id="flows/flow_wait.py::wait"]'
        assert watched.page.locator(node).get_attribute("data-status") == "running"
        (project.path / "go").write_text("")
        watched.page.locator(f'{node}[data-status="succeeded"]').wait_for(timeout=15_000)
        watched.page.locator('.run-status .badge.st-succeeded').wait_for(timeout=15_000)
        watched.check_clean()
    finally:
        proc.kill()
        proc.communicate()


def _first_running(ui, timeout: float = 30) -> str:
    import time

    deadline = time.time() + timeout
    while time.time() < deadline:
        running = ui.get("/api/v1/runs", params={"status": "running"}).json()
        if running:
            return running[0]["id"]
        time.sleep(0.05)
    raise AssertionError("no run started")
