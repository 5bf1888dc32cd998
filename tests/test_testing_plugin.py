"""flowrun.testing, as users use it: run the project's flows with stubs, a private
store, and assertions on statuses, results and captured output."""
from __future__ import annotations

import os

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
