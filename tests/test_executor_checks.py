"""An executor that cannot run the selected tasks as configured says so in one usage
line before any task runs (API section 4), instead of every task failing on its own."""
from __future__ import annotations

FLOW = """
    from flowrun import task

    @task(retries=3)
    def a():
        open("ran", "w").close()
"""


def test_ssh_with_no_host_is_one_usage_line_and_nothing_runs(project):
    project.write("flows/flow_a.py", FLOW)
    result = project.run("--executor", "ssh")
    assert result.exit_code == 4
    assert result.output.strip().splitlines()[-1] == (
        "ERROR: --executor ssh: no host to run flows/flow_a.py::a on: set "
        "[tool.flowrun.ssh] hosts = [...], --ssh-host, or @task(hosts=[...])")
    assert not (project.path / "ran").exists() and result.runs() == []


def test_ssh_host_that_resolves_nowhere_is_one_usage_line(project):
    project.write("flows/flow_a.py", FLOW)
    project.write("flowrun.toml", '[ssh]\nhosts = ["no-such-host.invalid"]\n')
    result = project.run("--executor", "ssh")
    assert result.exit_code == 4
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("ERROR: --executor ssh: host 'no-such-host.invalid' "
                           "([tool.flowrun.ssh] hosts or --ssh-host) resolves nowhere")
    assert not (project.path / "ran").exists()


def test_a_task_with_its_own_hosts_needs_no_configured_host(project, ssh_executor_args):
    project.write("flows/flow_h.py", """
        from flowrun import task

        @task(hosts=["h1"])
        def a():
            return 1
    """)
    args = [a for a in ssh_executor_args if a not in ("--ssh-host", "h1", "h2")]
    result = project.run_subprocess(*args)
    assert result.exit_code == 0, result.output
    assert result.result("flows/flow_h.py::a") == 1
