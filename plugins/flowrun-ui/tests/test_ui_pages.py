"""The pages people live in, in a real browser (Debian's Chromium via Playwright): a
failed run opens on what failed; the graph draws every edge with an arrowhead; and every
page passes axe-core with no serious or critical violation, in light and dark, and fits
390 px without sideways scrolling."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from ui_server import flow_path
from test_ui_browser import CHROMIUM, SHOTS, Watched, _first_running, browser  # noqa: F401

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason="needs Debian's Chromium at /usr/bin/chromium")
AXE = Path(__file__).parent / "data" / "axe.min.js"

FAILING = """
    from flowrun import Flow, task
    flow = Flow(tags=["nightly"])

    @task
    def orders():
        return 1

    @task(retries=1)
    def load(orders):
        raise ValueError("orders.csv missing")

    @task
    def report(load):
        return load

    @task
    def audit(orders):
        print("audited")
"""


@pytest.fixture
def failed(project, ui):
    project.write("flows/flow_orders.py", FAILING)
    return project.run("flows/flow_orders.py").runs()[-1]["id"]


def test_a_failed_run_opens_on_its_failed_task_and_error_line(browser, ui, failed):
    watched = Watched(browser, ui.url)
    watched.open(f"/runs/{failed}")
    header = watched.page.locator("section.failures")
    assert "ValueError: orders.csv missing" in header.inner_text()
    assert "Traceback" not in header.inner_text()
    header.locator('a[data-task-id="flows/flow_orders.py::load"]').click()
    row = watched.page.locator('details.task[data-task-id="flows/flow_orders.py::load"]')
    assert row.get_attribute("open") is not None
    attempts = row.locator("tr.attempt")
    assert attempts.count() == 2  # the first failure kept beside the retry's
    for i in range(2):
        assert "ValueError: orders.csv missing" in attempts.nth(i).inner_text()
    cancelled = watched.page.locator('details.task[data-task-id="flows/flow_orders.py::report"]')
    assert "upstream load failed" in cancelled.locator("summary").inner_text()
    watched.check_clean()


def test_graph_draws_every_edge_pointed_and_a_node_opens_its_task(browser, ui, failed):
    watched = Watched(browser, ui.url)
    watched.open(f"/runs/{failed}")
    edges = watched.page.locator("svg.graph path.edge")
    pairs = {(edges.nth(i).get_attribute("data-from"), edges.nth(i).get_attribute("data-to"))
             for i in range(edges.count())}
    flow = "flows/flow_orders.py::"
    assert pairs == {(flow + "orders", flow + "load"), (flow + "load", flow + "report"),
                     (flow + "orders", flow + "audit")}
    assert all(edges.nth(i).get_attribute("marker-end") == "url(#arrow)"
               for i in range(edges.count()))
    watched.page.locator(f'g.node[data-task-id="{flow}audit"] a').click()
    row = watched.page.locator(f'details.task[data-task-id="{flow}audit"]')
    assert row.get_attribute("open") is not None
    watched.check_clean()


def _pages(project, failed: str) -> dict[str, str]:
    project.write("flows/flow_parts.py", """
        from flowrun import Flow, task
        flow = Flow(partitions={"daily": "2026-11-25", "categories": ["eu", "us"]})
        @task
        def load(partition): return partition
    """)
    project.run("flows/flow_parts.py", "--partition", "2026-11-26/eu")
    project.write("flows/flow_hourly.py", """
        from flowrun import Flow, task
        flow = Flow(schedule="0 * * * *")
        @task
        def tick(): return 1
    """)
    project.run("--due", "flows/flow_hourly.py")
    return {"runs": "/", "run-failed": f"/runs/{failed}", "flows": "/flows",
            "flow": f"/flows/{flow_path('flows/flow_orders.py')}",
            "partitions": f"/flows/{flow_path('flows/flow_parts.py')}/partitions",
            "search": "/search?q=audited", "schedules": "/schedules", "not-found": "/runs/nosuchrun"}


@pytest.mark.parametrize("look", ["light",
                                  pytest.param("dark-390", marks=pytest.mark.slow)])
def test_every_page_passes_axe_fits_390px_and_follows_dark_mode(browser, ui, project,
                                                                 failed, look):
    phone = look == "dark-390"
    for name, path in _pages(project, failed).items():
        context = browser.new_context(
            viewport={"width": 390, "height": 844} if phone else {"width": 1280, "height": 860},
            color_scheme="dark" if phone else "light", bypass_csp=True)
        page = context.new_page()
        page.goto(ui.url.rstrip("/") + path)
        page.add_script_tag(path=str(AXE))
        found = page.evaluate("async () => (await axe.run()).violations.map("
                              "v => [v.id, v.impact, v.nodes.length, v.help])")
        bad = [v for v in found if v[1] in ("serious", "critical")]
        assert not bad, f"{name} ({look}): {bad}"
        wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert wide <= 0, f"{name} ({look}) overflows sideways by {wide}px"
        if phone:
            background = page.evaluate("getComputedStyle(document.body).backgroundColor")
            assert background != "rgb(248, 249, 250)", f"{name} ignores dark mode"
        if SHOTS is not None:
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / f"{name}-{look}.png"), full_page=True)
        context.close()


def test_keyboard_reaches_the_buttons_with_a_visible_focus(browser, ui, failed):
    watched = Watched(browser, ui.url)
    watched.open(f"/runs/{failed}")
    for _ in range(30):
        watched.page.keyboard.press("Tab")
        if watched.page.evaluate("document.activeElement.dataset.action") == "resume":
            break
    else:
        raise AssertionError("Tab never reached the Resume button")
    outline = watched.page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", "")
    watched.check_clean()


def test_a_tasks_rerun_button_opens_the_new_run_that_reuses_the_rest(browser, ui, failed):
    watched = Watched(browser, ui.url)
    watched.open(f"/runs/{failed}")
    row = watched.page.locator('details.task[data-task-id="flows/flow_orders.py::audit"]')
    row.locator("summary").click()
    row.locator(".log-tools").wait_for()
    watched.shot("run-task-open")
    with watched.page.expect_navigation():
        row.get_by_role("button", name="Rerun this task only").click()
    new_id = watched.page.url.rsplit("/", 1)[1]
    assert new_id != failed
    run = ui.wait(new_id)
    statuses = {t["task_id"].split("::")[1]: t["status"] for t in run["tasks"]}
    assert statuses["audit"] == "succeeded" and statuses["orders"] == "cached"
    assert run["resumed_from"] == failed
    watched.check_clean()


def test_a_running_task_shows_its_elapsed_time_and_output_tail_live(browser, ui, project):
    project.write("flows/flow_live.py", """
        import os, time
        from flowrun import task
        @task
        def crunch():
            for batch in range(1, 8):
                print(f"working on batch {batch}")
            while not os.path.exists("go"):
                time.sleep(0.05)
            return 1
    """)
    proc = project.popen("flows/flow_live.py")
    try:
        run_id = _first_running(ui)
        watched = Watched(browser, ui.url)
        watched.open(f"/runs/{run_id}")
        row = watched.page.locator('details.task[data-task-id="flows/flow_live.py::crunch"]')
        tail = row.locator(".live-tail")
        watched.page.wait_for_function(
            "() => (document.querySelector('.live-tail') || {}).textContent"
            "?.includes('working on batch 7')", timeout=15_000)
        assert "batch 1" not in tail.inner_text()  # only the last lines
        assert row.locator(".elapsed").count() == 1
        if SHOTS is not None:
            watched.shot("run-live")
        (project.path / "go").write_text("")
        watched.page.locator('.run-status .badge.st-succeeded').wait_for(timeout=15_000)
        watched.check_clean()
    finally:
        proc.kill()
        proc.communicate()
