"""``flowrun ui``'s own options, run end to end: ``--store`` serves that store, ``--open``
hands the URL to the user's browser (``$BROWSER``, as Python's ``webbrowser`` reads it)."""
from __future__ import annotations

import sys
import time

from ui_server import start_ui


def test_store_serves_that_store_and_open_hands_the_url_to_the_browser(project):
    project.write("flows/flow_one.py", "from flowrun import task\n@task\ndef one(): return 1\n")
    elsewhere = project.path / "elsewhere.db"
    made = project.run("--store", str(elsewhere), "-q")
    assert made.exit_code == 0, made.output
    (run_id,) = [r["id"] for r in made.new_runs()]
    assert project.run("history").stdout.strip() == "no runs yet"  # not the default store
    opened = project.path / "opened.txt"
    browser = (f"{sys.executable} -c \"import sys; open({str(opened)!r}, 'w')"
               ".write(sys.argv[1])\" %s")
    server = start_ui(project.path, "--store", str(elsewhere), "--open",
                      env={"BROWSER": browser})
    try:
        assert [r["id"] for r in server.get("/api/v1/runs").json()] == [run_id]
        deadline = time.time() + 20
        while not (opened.exists() and opened.read_text()) and time.time() < deadline:
            time.sleep(0.05)
        assert opened.read_text() == server.url
    finally:
        server.stop()
