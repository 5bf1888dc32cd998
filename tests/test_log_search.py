"""``flowrun logs --grep TEXT [--flow F]``: every stored log of every run searched at
once (full-text on SQLite), as text or as JSON (schema ``log-search``)."""
from __future__ import annotations

import json

from jsonschema import Draft202012Validator

from flowrun import schemas

ORDERS = """
    import logging
    from flowrun import task

    @task
    def load():
        print("reading orders.csv")
        logging.getLogger("shop").warning("orders.csv missing, using yesterday's")
        return 1

    @task
    def report(load):
        print("report done")
"""


def test_grep_finds_lines_of_every_run_newest_first(project):
    project.write("flows/flow_orders.py", ORDERS)
    project.write("flows/flow_other.py", ORDERS.replace("yesterday", "last week"))
    first = project.run("flows/flow_orders.py").runs()[-1]["id"]
    second = project.run("flows/flow_other.py").runs()[-1]["id"]
    found = project.run("logs", "--grep", "orders.csv missing")
    assert found.exit_code == 0, found.output
    lines = found.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith(second) and lines[1].startswith(first)
    assert "flows/flow_other.py::load (attempt 1, log:1)" in lines[0]
    only = project.run("logs", "--grep", "orders.csv missing", "--flow", "flows/flow_orders.py")
    assert [line.split()[0] for line in only.stdout.splitlines()] == [first]


def test_grep_json_matches_its_schema(project):
    project.write("flows/flow_orders.py", ORDERS)
    run_id = project.run("flows/flow_orders.py").runs()[-1]["id"]
    result = project.run("logs", "--grep", "report done", "--json")
    document = json.loads(result.stdout)
    Draft202012Validator(schemas.load("log-search")).validate(document)
    assert [(h["run_id"], h["task_id"], h["stream"], h["line"]) for h in document["hits"]] == [
        (run_id, "flows/flow_orders.py::report", "stdout", "report done")]


def test_grep_of_nothing_found_says_so(project):
    project.write("flows/flow_orders.py", ORDERS)
    project.run("flows/flow_orders.py")
    result = project.run("logs", "--grep", "no such words anywhere")
    assert result.exit_code == 0 and "no stored line holds" in result.stdout


def test_grep_mistakes_are_one_line_usage_errors(project):
    for args, says in ((["logs"], "give a RUN"), (["logs", "abc", "--grep", "x"], "leave out RUN"),
                       (["logs", "--grep", "x" * 1001], "1 to 1000 characters"),
                       (["logs", "abc", "--flow", "f"], "--flow goes with --grep")):
        result = project.run(*args)
        assert result.exit_code == 4, (args, result.output)
        assert says in result.output and "Traceback" not in result.output
