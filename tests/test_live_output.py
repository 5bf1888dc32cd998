"""A running task's output so far is in the store while it runs (the thread executor
says what it printed), so ``flowrun ui`` shows its tail live; its final record still
holds all of it."""
from __future__ import annotations

import time

WAITER = """
    import os, time
    from flowrun import task

    @task
    def slow():
        print("started work")
        deadline = time.time() + 30
        while not os.path.exists("go") and time.time() < deadline:
            time.sleep(0.05)
        print("done work")
        return 1
"""


def _stored_stdout(project) -> tuple[str | None, str | None]:
    with project.storage() as store:
        runs = store.list_runs() if store else []
        if not runs:
            return None, None
        attempts = store.attempts(runs[0].id)
    return (attempts[-1].status, attempts[-1].stdout) if attempts else (None, None)


def test_a_running_tasks_output_so_far_is_stored_then_all_of_it(project):
    project.write("flows/flow_w.py", WAITER)
    proc = project.popen("flows/flow_w.py")
    try:
        deadline = time.monotonic() + 20
        while _stored_stdout(project) != ("running", "started work\n"):
            assert time.monotonic() < deadline, _stored_stdout(project)
            time.sleep(0.1)
    finally:
        (project.path / "go").write_text("")
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, out + err
    assert _stored_stdout(project) == ("succeeded", "started work\ndone work\n")
