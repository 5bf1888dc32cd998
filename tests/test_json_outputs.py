"""Every JSON flowrun prints or writes validates against the JSON Schema it names and
ships (``flowrun schema NAME``), on a store holding every kind of node: a plain task,
mapped instances, submitted children, a subflow's task, a retried task, a skipped, a
failed, a cancelled and (after ``--resume``) cached ones, plus a file that fails to
collect.
"""
from __future__ import annotations

import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from flowrun import schemas
from flowrun.testing import Project

ALL = "flows/flow_all.py"
NOW = {"FLOWRUN_NOW": "2026-11-22T06:00:00Z"}
FLOW = """
    import os
    from flowrun import Flow, run_flow, skip, submit, task

    flow = Flow(schedule="0 6 * * *", tags=["daily"],
                partitions={"daily": "2026-11-01", "categories": ["eu", "us"]})

    @task
    def extract(day: str = "mon"):
        print("extracting", day)
        return [1, 2, 3]

    @task(each="extract")
    def enrich(extract):
        print("enriching", extract)
        return extract * 10

    def fetch(n):
        return n + 1

    @task
    def parent(extract):
        return [f.result() for f in [submit(fetch, n) for n in extract]]

    @task
    def sub():
        return run_flow("sub/flow_child.py", factor=3)

    @task(retries=1)
    def flaky():
        if not os.path.exists("flaky.marker"):
            open("flaky.marker", "w").close()
            raise RuntimeError("first attempt fails")
        return "ok"

    @task
    def maybe():
        skip("nothing to do")

    @task
    def broken(enrich):
        raise ValueError("boom")

    @task
    def after_broken(broken):
        return broken
"""
CHILD = """
    from flowrun import task

    @task
    def convert(factor: int = 2):
        return factor * 2
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, str, str]:
    """The project, its first run (every fresh node kind) and the run that resumed it
    (cached nodes); each run also wrote a --report-json."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("FLOWRUN_STORE", raising=False)
        project = Project(tmp_path_factory.mktemp("json-outputs"))
        project.write("flowrun.toml", "")
        project.write(ALL, FLOW)
        project.write("flows/sub/flow_child.py", CHILD)
        project.write("flows/flow_bad.py", "def broken(:\n")
        first = project.run("--partition", "2026-11-02/eu", "--report-json", "first.json")
        resumed = project.run("--resume", "--report-json", "resumed.json", ALL)
        assert first.exit_code == resumed.exit_code == 1, first.output + resumed.output
        yield project, _only(first), _only(resumed)


def _only(result: Any) -> str:
    (run,) = result.new_runs()
    return run["id"]


def validate(name: str, document: Any) -> None:
    validator = Draft202012Validator(schemas.load(name),
                                     format_checker=Draft202012Validator.FORMAT_CHECKER)
    problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"[:300]
                for e in validator.iter_errors(document)]
    assert not problems, f"{name}:\n" + "\n".join(problems)


def printed(project: Project, *args: str, env: dict[str, str] | None = None) -> Any:
    result = project.run(*args, env=env)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("name", sorted(schemas.VERSIONS))
def test_every_schema_is_a_valid_draft_2020_12_schema_naming_its_version(name):
    schema = schemas.load(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    if name != "catalog-keys":  # a plain list of strings cannot carry the field
        assert json.dumps(schema).count(f'"const": "{schemas.tag(name)}"') >= 1


def test_the_schema_files_ship_as_package_data():
    shipped = {p.name for p in resources.files("flowrun.schemas").iterdir()
               if p.name.endswith(".json")}
    assert shipped == {f"{name}.json" for name in schemas.VERSIONS}
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    setuptools = tomllib.loads(pyproject.read_text())["tool"]["setuptools"]
    assert setuptools["package-data"]["flowrun.schemas"] == ["*.json"]  # in every wheel


def test_the_store_holds_every_kind_of_node(store):
    project, first, resumed = store
    document = printed(project, "show", first, "--json")
    validate("show", document)
    by_id = {(t["task_id"], t["attempt"]): t for t in document["tasks"]}
    ids = {task_id for task_id, _ in by_id}
    assert {f"{ALL}::enrich[2]", f"{ALL}::parent::fetch[0]",
            f"{ALL}::sub::flow_child::convert"} <= ids
    assert by_id[(f"{ALL}::flaky", 1)]["status"] == "failed"
    assert by_id[(f"{ALL}::flaky", 2)]["status"] == "succeeded"
    statuses = {t["status"] for t in document["tasks"]}
    assert {"succeeded", "failed", "skipped", "cancelled"} <= statuses
    again = printed(project, "show", resumed, "--json")
    validate("show", again)
    assert again["run"]["resumed_from"] == first
    assert "cached" in {t["status"] for t in again["tasks"]}


@pytest.mark.parametrize("which", ["first", "resumed"])
def test_report_json_matches_its_schema(store, which):
    project, first, resumed = store
    document = json.loads((project.path / f"{which}.json").read_text())
    validate("report", document)
    assert document["schema"] == "report/2" and document["version"] == 2
    where = [error["where"] for error in document["collect_errors"]]
    assert where == (["flows/flow_bad.py"] if which == "first" else [])  # resumed: one path
    assert document["runs"][0]["id"] == (first if which == "first" else resumed)


def test_history_is_an_array_whose_every_run_names_the_schema(store):
    project, first, resumed = store
    document = printed(project, "history", "--json")
    validate("history", document)
    assert [run["id"] for run in document] == [resumed, first]
    assert {run["schema"] for run in document} == {"history/1"}


def test_a_run_records_its_host_which_flowrun_hostname_names(project):
    project.write("flows/flow_one.py", """
        from flowrun import task

        @task
        def one():
            return 1
    """)
    assert project.run(env={"FLOWRUN_HOSTNAME": "cron-7"}).exit_code == 0
    document = printed(project, "history", "--json")
    validate("history", document)
    assert [(run["host"], run["reason"]) for run in document] == [("cron-7", None)]


def test_logs_json_matches_its_schema_for_a_run_and_a_task(store):
    project, first, _ = store
    validate("logs", printed(project, "logs", first, "--json"))
    document = printed(project, "logs", first, "flaky", "--json")
    validate("logs", document)
    assert [a["status"] for a in document["attempts"]] == ["failed", "succeeded"]
    assert "first attempt fails" in document["attempts"][0]["error"]


def test_logs_of_a_mapped_task_show_every_instance_in_text_and_json(store):
    project, first, _ = store
    document = printed(project, "logs", first, f"{ALL}::enrich", "--json")
    instances = [a["task_id"] for a in document["attempts"] if "[" in a["task_id"]]
    assert instances == [f"{ALL}::enrich[{i}]" for i in range(3)]
    assert [a["stdout"] for a in document["attempts"] if "[" in a["task_id"]] == [
        f"enriching {n}\n" for n in (1, 2, 3)]
    text = project.run("logs", first, "enrich")
    assert text.exit_code == 0
    for i, n in enumerate((1, 2, 3)):
        assert f"=== {ALL}::enrich[{i}] (attempt 1, succeeded) ===" in text.stdout
        assert f"enriching {n}" in text.stdout


def test_logs_of_an_unknown_task_is_a_usage_error_with_a_hint(store):
    project, first, _ = store
    result = project.run("logs", first, "enrihc")
    assert result.exit_code == 4
    assert f"ERROR: run {first} has no task 'enrihc' (did you mean 'enrich'?)" in result.stderr


def test_explain_json_matches_its_schema(store):
    project, _, _ = store
    document = printed(project, "explain", ALL, "--json")
    validate("explain", document)
    assert document["schema"] == "explain/1"
    assert {v["task"] for v in document[ALL]} >= {"extract", "enrich", "flaky"}


def test_explain_resume_json_matches_its_schema(store):
    project, first, _ = store
    document = printed(project, "explain", "--resume", first, "--json")
    validate("explain", document)
    verdicts = {v["task"]: v for v in document[ALL]}
    assert verdicts["extract"]["reused_from"] == first
    assert verdicts["broken"]["rerun_because"] == "failed"


def test_schedule_json_is_an_array_whose_every_flow_names_the_schema(store):
    project, _, _ = store
    document = printed(project, "schedule", "--json", env=NOW)
    validate("schedule", document)
    assert [(row["schema"], row["flow"]) for row in document] == [("schedule/1", ALL)]
    assert document[0]["next"][0] == "2026-11-23 06:00 UTC"


def test_partitions_json_matches_its_schema(store):
    project, _, resumed = store
    document = printed(project, "partitions", ALL, "--json", env=NOW)
    validate("partitions", document)
    assert document["2026-11-02/eu"] == {"status": "failed", "run": resumed}


def test_catalog_json_matches_its_schema_flows_and_errors_alike(store):
    project, _, _ = store
    document = printed(project, "catalog", env=NOW)
    validate("catalog", document)
    rows = {row["id"]: row for row in document}
    assert "error" in rows["flows/flow_bad.py"] and rows[ALL]["next_due"].startswith("2026-11-23")
    assert {row["schema"] for row in document} == {"catalog/1"}
    keys = printed(project, "catalog", ALL, "--keys", "2026-11-01..2026-11-02", env=NOW)
    validate("catalog-keys", keys)
    assert keys == ["2026-11-01/eu", "2026-11-01/us", "2026-11-02/eu", "2026-11-02/us"]


def test_graph_json_matches_its_schema_with_and_without_a_run(store):
    project, first, _ = store
    for extra in ((), ("--run", first)):
        document = printed(project, "graph", ALL, "--format", "json", *extra)
        validate("graph", document)
    statuses = {k: t["status"] for k, t in document["graph"]["tasks"].items()}
    assert statuses["broken"] == "FAILED" and statuses["after_broken"] == "CANCELLED"


def test_schema_lists_every_schema_with_its_version(project):
    result = project.run("schema")
    assert result.exit_code == 0
    listed = [line.split()[0] for line in result.stdout.splitlines()]
    assert listed == [schemas.tag(name) for name in sorted(schemas.VERSIONS)]
    assert "show/1" in listed and "report/2" in listed


def test_schema_name_prints_the_shipped_schema(project):
    for asked in ("show", "show/1"):
        result = project.run("schema", asked)
        assert result.exit_code == 0
        assert json.loads(result.stdout) == schemas.load("show")


@pytest.mark.parametrize("asked, says", [
    ("shwo", "flowrun schema shwo: no such schema (did you mean 'show'?)"),
    ("show/9", "flowrun schema show/9: this flowrun writes show/1 only"),
])
def test_an_unknown_schema_is_a_usage_error(project, asked, says):
    result = project.run("schema", asked)
    assert result.exit_code == 4
    assert says in result.stderr and "Traceback" not in result.stderr


def test_a_schema_is_precise_enough_to_reject_a_wrong_status(store):
    project, first, _ = store
    document = printed(project, "show", first, "--json")
    document["tasks"][0]["status"] = "done"
    with pytest.raises(AssertionError, match="'done' is not one of"):
        validate("show", document)
    del document["run"]["flow_id"]
    with pytest.raises(AssertionError, match="'flow_id' is a required property"):
        validate("show", document)

