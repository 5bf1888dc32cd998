"""--junitxml and --report-json: what CI systems and scripts read from a run."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

etree = pytest.importorskip("lxml.etree", reason="lxml (the test extra) validates JUnit XML")

XSD = Path(__file__).parent / "data" / "junit-10.xsd"  # Jenkins xunit-plugin, MIT

EVERY_STATUS = """
    import sys
    from flowrun import task, skip

    @task
    def ok():
        print("out of ok \\x1b[31mred\\x1b[0m")
        print("err of ok", file=sys.stderr)
        return 1

    @task
    def bad(ok):
        raise ValueError("boom")

    @task
    def after_bad(bad):
        return bad

    @task
    def nothing():
        skip("nothing new")

    @task(retries=2)
    def flaky(context):
        if context.attempt < 2:
            raise RuntimeError("flake")
        return 2

    @task
    def items():
        return [1, 2]

    @task(each="items")
    def double(items):
        return items * 2
"""


def _junit(project, *args):
    result = project.run("--junitxml", "reports/junit.xml", *args)
    return result, etree.parse(str(project.path / "reports" / "junit.xml"))


def _case(doc, name):
    (case,) = doc.xpath(f"//testcase[@name='{name}']")
    return case


def test_junit_xml_validates_against_the_junit_schema(project):
    project.write("flows/flow_all.py", EVERY_STATUS)
    result, doc = _junit(project)
    assert result.exit_code == 1
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    assert schema.validate(doc), schema.error_log
    suite = doc.find("testsuite")
    assert suite.get("name") == "flows/flow_all.py"
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("8", "1", "2")


def test_junit_testcase_per_task_with_failure_skip_and_cancel(project):
    project.write("flows/flow_all.py", EVERY_STATUS)
    _, doc = _junit(project)
    assert sorted(c.get("name") for c in doc.iter("testcase")) == [
        "after_bad", "bad", "double[0]", "double[1]", "flaky", "items", "nothing", "ok"]
    assert {c.get("classname") for c in doc.iter("testcase")} == {"flows/flow_all.py"}
    failure = _case(doc, "bad").find("failure")
    assert failure.get("message") == "ValueError: boom"
    assert failure.get("type") == "ValueError"
    assert 'raise ValueError("boom")' in failure.text
    assert _case(doc, "nothing").find("skipped").get("message") == "nothing new"
    cancelled = _case(doc, "after_bad").find("skipped")
    assert cancelled.get("message") == "cancelled: upstream bad failed"


def test_junit_captures_output_and_notes_retries(project):
    project.write("flows/flow_all.py", EVERY_STATUS)
    _, doc = _junit(project)
    ok = _case(doc, "ok")
    assert ok.findtext("system-out") == "out of ok \\x1b[31mred\\x1b[0m\n"  # XML-safe
    assert ok.findtext("system-err") == "err of ok\n"
    notes = _case(doc, "flaky").findtext("system-out")
    assert "[flowrun] attempt 1 failed: RuntimeError: flake" in notes
    assert "[flowrun] passed on attempt 2" in notes


def test_junit_reports_a_broken_file_as_an_error_testcase(project):
    project.write("flows/flow_ok.py", "from flowrun import task\n@task\ndef a(): pass\n")
    project.write("flows/flow_broken.py", "from flowrun import task\n@task\ndef a(:\n")
    result, doc = _junit(project)
    assert result.exit_code == 1
    error = doc.xpath("//testcase[@classname='flows/flow_broken.py']/error")[0]
    assert "syntax error" in error.get("message")
    assert etree.XMLSchema(etree.parse(str(XSD))).validate(doc)


def test_reporters_register_only_when_asked(project):
    project.write("flows/flow_a.py", "from flowrun import task\n@task\ndef a(): pass\n")
    project.write("flowconf.py", """
        from flowrun import hookimpl
        @hookimpl
        def flowrun_session_start(session):
            pm = session.config.pluginmanager
            print("writers:", pm.has_plugin("junitxml-writer"),
                  pm.has_plugin("json-report-writer"))
    """)
    assert "writers: False False" in project.run().output
    assert "writers: True True" in project.run("--junitxml", "j.xml",
                                               "--report-json", "r.json").output


def test_json_report_has_runs_tasks_attempts_and_params(project):
    project.write("flows/flow_all.py", EVERY_STATUS + """
    @task
    def greet(name: str = "world"):
        return name
    """)
    result = project.run("--report-json", "out/report.json", params={"name": "ada"})
    report = json.loads((project.path / "out" / "report.json").read_text())
    assert report["version"] == 2
    assert report["exit_code"] == result.exit_code == 1
    (run,) = report["runs"]
    assert (run["flow_id"], run["status"], run["params"]) == (
        "flows/flow_all.py", "failed", {"name": "ada"})
    assert run["id"] == result.new_runs()[0]["id"]
    tasks = {t["name"]: t for t in run["tasks"]}
    assert tasks["bad"]["status"] == "failed"
    assert "ValueError: boom" in tasks["bad"]["error"]
    assert tasks["after_bad"]["reason"] == "upstream bad failed"
    assert [a["status"] for a in tasks["flaky"]["attempts"]] == ["failed", "succeeded"]
    assert tasks["flaky"]["attempts"][0]["summary"] == "RuntimeError: flake"
    assert tasks["ok"]["finished"] >= tasks["ok"]["started"] > 0
    assert report["summary"] == {"succeeded": 6, "failed": 1, "skipped": 1, "cancelled": 1}


def test_json_report_lists_collection_errors(project):
    project.write("flows/flow_broken.py", "from flowrun import task\n@task\ndef a(:\n")
    project.run("--report-json", "report.json")
    report = json.loads((project.path / "report.json").read_text())
    (error,) = report["collect_errors"]
    assert error["where"] == "flows/flow_broken.py"
    assert report["runs"] == [] and report["exit_code"] == 1


def test_junit_times_are_the_sum_of_attempts_and_the_runs_wall_time(project):
    project.write("flows/flow_slow.py", """
        import time
        from flowrun import task

        @task(retries=2)
        def flaky(context):
            time.sleep(0.2)
            if context.attempt < 3:
                raise RuntimeError("flake")

        @task
        def quick():
            return 1
    """)
    result, doc = _junit(project)
    assert result.exit_code == 0, result.output
    assert float(_case(doc, "flaky").get("time")) >= 0.6  # three attempts of 0.2 s
    (suite,) = doc.xpath("//testsuite")
    assert float(suite.get("time")) >= 0.6
    assert float(doc.getroot().get("time")) >= float(suite.get("time"))
    assert etree.XMLSchema(etree.parse(str(XSD))).validate(doc)


def test_a_report_snapshot_holds_every_field_and_cannot_change():
    import dataclasses
    import pickle

    from flowrun.plugin import Report

    report = Report(**{f.name: f"v{i}" for i, f in enumerate(dataclasses.fields(Report))})
    snapshot = report.snapshot()
    assert dataclasses.astuple(snapshot) == dataclasses.astuple(report)
    with pytest.raises(AttributeError, match="snapshot"):
        snapshot.status = "failed"
    report.status = "failed"  # the engine's own report goes on changing; the copy not
    assert snapshot.status == "v3"
    assert pickle.loads(pickle.dumps(snapshot)).task_id == "v2"
