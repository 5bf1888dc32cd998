"""Every file and folder of the store is private (0600 / 0700) from the first run on,
whatever the umask and wherever the store lives (API.md section 6)."""
from __future__ import annotations

import os
import stat
import time

import pytest

FLOW = """
    from flowrun import Flow, task
    flow = Flow(schedule="* * * * *")

    @task
    def big():
        return b"x" * 200_000          # over the result-file threshold: a result file

    @task
    def small(big):
        import time
        time.sleep(1.5)                 # the run is open: its -wal and -shm exist
        return len(big)
"""


def _loose(root: str) -> list[str]:
    found = []
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = os.path.join(folder, name)
            mode = stat.S_IMODE(os.lstat(path).st_mode)
            if mode & 0o077:
                found.append(f"{oct(mode)} {os.path.relpath(path, root)}")
    return found


@pytest.mark.parametrize("umask", [0o022, 0o000])
@pytest.mark.parametrize("where", ["default",
                                   pytest.param("elsewhere", marks=pytest.mark.slow)])
def test_store_files_and_folders_are_private_from_the_first_run(project, tmp_path, umask,
                                                                where):
    project.write("flows/flow_p.py", FLOW)
    store_root = tmp_path / "stores"
    (store_root / "a").mkdir(parents=True)  # flowrun makes the store's own folder, b
    args = [] if where == "default" else ["--store", str(store_root / "a" / "b" / "s.db")]
    root = project.path / ".flowrun" if where == "default" else store_root / "a" / "b"
    proc = project.popen(*args, "--due", preexec_fn=lambda: os.umask(umask))
    deadline, mid_run = time.time() + 30, None
    while time.time() < deadline and mid_run is None:
        names = {p.name for p in root.rglob("*")} if root.exists() else set()
        if {"results", "locks"} <= names and any(n.endswith("-wal") for n in names):
            mid_run = _loose(str(root))
        time.sleep(0.05)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, out + err
    assert mid_run == [], mid_run
    assert _loose(str(root)) == []
    if where == "elsewhere":
        assert stat.S_IMODE(os.stat(root).st_mode) == 0o700  # the folders it made, too
