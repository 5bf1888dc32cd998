"""Faults of the machine, not of the flow: a full disk, a `.flowrun` that is a file. One
clear line, no partial files, the run never left `running`, and `--resume` works once
the fault is cleared."""
from __future__ import annotations

import os
import subprocess

import pytest

BIG = """
    from flowrun import task

    @task
    def small():
        return 1

    @task
    def big(small):
        return b"x" * 2_000_000

    @task
    def after(big):
        return len(big)
"""


@pytest.fixture
def small_disk(tmp_path):
    """A 600 KiB tmpfs (needs root, as CI and these machines have)."""
    where = tmp_path / "disk"
    where.mkdir()
    if os.geteuid() != 0 or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(where)],
            capture_output=True).returncode != 0:
        pytest.skip("mounting a small tmpfs needs root")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_full_disk_is_one_line_and_resume_finishes_once_there_is_room(project, small_disk):
    project.write("flows/flow_big.py", BIG)
    store = small_disk / "runs.db"
    full = project.run_subprocess("--store", str(store))
    assert full.exit_code == 1, full.output
    assert "Traceback" not in full.output + full.stderr
    lines = full.stderr.strip().splitlines()
    assert len(lines) == 1 and "No space left on device" in lines[0], full.stderr
    assert "flowrun --resume" in lines[0]
    leftovers = [p.name for p in small_disk.rglob("*.tmp")]
    assert leftovers == []
    history = project.run("history", "--store", str(store), "--json")
    assert [r["status"] for r in __import__("json").loads(history.output)] == ["interrupted"]
    subprocess.run(["mount", "-o", "remount,size=20m", str(small_disk)], check=True)
    resumed = project.run_subprocess("--store", str(store), "--resume")
    assert resumed.exit_code == 0, resumed.output + resumed.stderr
    assert resumed.status("flows/flow_big.py::small") == "cached"
    assert resumed.result("flows/flow_big.py::after") == 2_000_000


def test_a_flowrun_folder_that_is_a_file_is_one_line(project):
    project.write("flows/flow_a.py", "from flowrun import task\n@task\ndef a(): pass\n")
    (project.path / ".flowrun").write_text("not a folder")
    result = project.run_subprocess()
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"ERROR: cannot open the store {project.path}/.flowrun/flowrun.db: Not a directory"]
