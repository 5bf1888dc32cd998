"""flowrun.testing, as users use it: run the project's flows with stubs, a private
store, and assertions on statuses, results and captured output."""
from __future__ import annotations

import os

import pytest

pytest_plugins = ["pytester"]


def test_run_flows_on_the_bundled_examples_with_a_stub(run_flows, monkeypatch):
    monkeypatch.chdir(os.path.dirname(os.path.dirname(__file__)))
    fake_rows = [{"date": "d", "region": "north", "product": "widget", "units": "2",
                  "unit_price": "3.0"}]
    result = run_flows("flows/flow_sales.py", params={"out_dir": str(run_flows.store.parent)},
                       stubs={"flow_sales.py::extract": lambda source: fake_rows})
    assert result.exit_code == 0, result.output
    assert result.result("flows/flow_sales.py::revenue_by_region") == {"north": 6.0}
    assert "dropped 0 incomplete rows" in result.captured("flows/flow_sales.py::clean")["stdout"]
    assert run_flows.store.exists()
    assert not (run_flows.store.parent / ".flowrun" / "flowrun.db").exists()


def test_users_get_the_project_fixture_from_the_pytest11_entry_point(pytester):
    pytester.makepyfile(test_user="""
        def test_my_flow(project):
            project.write("flows/flow_mine.py", '''
                from flowrun import task
                @task
                def answer(): return 42
            ''')
            result = project.run()
            assert result.exit_code == 0
            assert result.result("flows/flow_mine.py::answer") == 42
    """)
    outcome = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    outcome.assert_outcomes(passed=1)


NOTING_STORE = """
    import os
    from flowrun.plugin import hookimpl
    from flowrun.storage.sqlite import SqliteStorage

    LOG = os.path.join(os.path.dirname(__file__), "opened.log")

    @hookimpl
    def flowrun_make_storage(url, config):
        if url.startswith("notes://"):
            with open(LOG, "a") as log:
                log.write(url + "\\n")
            return SqliteStorage(os.path.join(config.rootdir, url[len("notes://"):]), url)
"""


@pytest.mark.parametrize("how", ["in-process", "subprocess"])
def test_results_are_read_through_the_store_plugin_the_run_used(project, how):
    project.write("flowconf.py", NOTING_STORE)
    project.write("flows/flow_a.py", "from flowrun import task\n@task\ndef a(): return 7\n")
    run = project.run if how == "in-process" else project.run_subprocess
    result = run("--store", "notes://runs.db")
    assert result.exit_code == 0, result.output
    opened = project.path / "opened.log"
    before = len(opened.read_text().splitlines())
    assert result.result("flows/flow_a.py::a") == 7
    assert [r["status"] for r in result.new_runs()] == ["succeeded"]
    assert len(opened.read_text().splitlines()) > before  # read through the plugin
    assert not project.store.exists()  # nothing went to the default store


def test_reports_and_storage_give_the_runs_as_the_interface_has_them(project):
    project.write("flows/flow_a.py", """
        from flowrun import task
        @task(retries=1)
        def shaky(context):
            if context.attempt == 1:
                raise ValueError("once")
    """)
    first, second = project.run(), project.run()
    assert [(r.attempt, r.status) for r in second.reports()] == [(1, "failed"),
                                                                  (2, "succeeded")]
    assert len(first.new_runs()) == len(second.new_runs()) == 1
    assert first.new_runs() != second.new_runs()
    with project.storage() as store:
        assert [r.id for r in store.list_runs()] == [second.new_runs()[0]["id"],
                                                     first.new_runs()[0]["id"]]


def test_a_stub_key_naming_no_task_stops_the_run_with_a_did_you_mean(project):
    project.write("flows/flow_sales.py", """
        from flowrun import task

        @task
        def extract():
            open("real-extract-ran", "w").close()
            return [1]
    """)
    typo = project.run(stubs={"flow_sales.py::extrct": lambda: [2]})
    assert typo.exit_code == 4
    assert "stubs: 'flow_sales.py::extrct' names no collected task (did you mean " \
           "'flows/flow_sales.py::extract'?)" in typo.output
    assert not (project.path / "real-extract-ran").exists()
    for key in ("flows/flow_sales.py::extract", "flow_sales.py::extract"):  # both forms
        stubbed = project.run(stubs={key: lambda: [2]})
        assert stubbed.exit_code == 0 and stubbed.result("flows/flow_sales.py::extract") == [2]
    assert not (project.path / "real-extract-ran").exists()


def test_status_of_an_unknown_id_raises_and_assert_outcomes_counts(project):
    import pytest

    project.write("flows/flow_a.py", """
        from flowrun import task, skip

        @task
        def good():
            return 1

        @task
        def bad():
            raise ValueError("boom")

        @task
        def after(bad):
            return bad

        @task
        def nothing():
            skip("nothing to do")
    """)
    result = project.run()
    with pytest.raises(KeyError, match="did you mean 'flows/flow_a.py::good'"):
        result.status("flows/flow_a.py::goo")
    result.assert_outcomes(succeeded=1, failed=1, cancelled=1, skipped=1)
    with pytest.raises(AssertionError, match="outcomes"):
        result.assert_outcomes(succeeded=2, failed=1, cancelled=1, skipped=1)
    with pytest.raises(TypeError, match="no status 'passed'"):
        result.assert_outcomes(passed=1)
