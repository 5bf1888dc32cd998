"""``flowrun --watch`` sees data: saving a file a task declares in ``reads`` reruns
exactly the tasks that read it (and what follows them); files the run's own tasks write
never start a cycle, while an edit to one from outside does. A real ``flowrun --watch``
process on a temp project."""
from __future__ import annotations

from test_watch import Watch, runs, statuses  # noqa: F401 - the watch harness

import pytest

FLOW = """
    from pathlib import Path
    from flowrun import task

    @task(reads=["data/prices.csv"])
    def prices():
        return Path("data/prices.csv").read_text().split()

    @task(reads=["data/stock.csv"], writes=["out/stock.txt"])
    def stock():
        Path("out").mkdir(exist_ok=True)
        text = Path("data/stock.csv").read_text()
        Path("out/stock.txt").write_text(text)
        return text.split()

    @task
    def total(prices):
        return len(prices)

    @task(reads=["out/stock.txt"])
    def shelf():
        return Path("out/stock.txt").read_text()
"""


@pytest.fixture
def watch(project):
    started: list[Watch] = []
    yield lambda *args: started.append(Watch(project, *args)) or started[-1]
    for w in started:
        w.stop()


def test_saving_a_data_file_reruns_the_tasks_that_read_it(project, watch):
    project.write("flows/flow_shop.py", FLOW)
    project.write("data/prices.csv", "1 2\n")
    project.write("data/stock.csv", "5\n")
    w = watch()
    w.cycle()
    assert runs(project) == {"flows/flow_shop.py": 1}
    assert w.quiet(1.0) == ""  # out/stock.txt, written by the run, started nothing
    project.write("data/prices.csv", "1 2 3\n")
    out = w.cycle()
    assert "changed: data/prices.csv (data)" in out, out
    assert statuses(project, "flows/flow_shop.py") == {
        "prices": "succeeded", "total": "succeeded", "stock": "cached", "shelf": "cached"}
    project.write("notes/unrelated.csv", "x\n")
    assert w.quiet(1.0) == ""
    project.write("out/stock.txt", "7\n")  # a run's output, edited from outside: it counts
    assert "changed: out/stock.txt (data)" in w.cycle()
    assert statuses(project, "flows/flow_shop.py")["shelf"] == "succeeded"
