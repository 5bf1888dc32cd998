"""Every benchmark under ``tests/benchmarks/`` runs in its smoke size (``--smoke``) as a
real process, so a schema or API change cannot break one silently: found by globbing,
so a new benchmark without a smoke mode fails here. Timings are printed by the
benchmarks, never asserted."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).parent / "benchmarks").glob("bench_*.py"))
#: A figure: a number, and a unit somewhere in the output (tables put it in a header).
NUMBER = re.compile(r"\d")
UNIT = re.compile(r"µs|ms\b|\ds\b| s\b|MB|MiB")


def test_benchmarks_are_found() -> None:
    assert len(BENCHMARKS) >= 10, BENCHMARKS


#: The smokes that fill a store first (the UI's 10k runs, a PostgreSQL cluster) run with
#: ``-m slow``, as CI does; the rest keep the default run's check.
SLOW = {"bench_ui", "bench_postgres"}


@pytest.mark.parametrize("script", [
    pytest.param(path, marks=pytest.mark.slow) if path.stem in SLOW else path
    for path in BENCHMARKS], ids=[path.stem for path in BENCHMARKS])
def test_benchmark_runs_in_smoke_size_and_prints_figures(script: Path,
                                                         tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "FLOWRUN_STORE"}
    env["TMPDIR"] = str(tmp_path)  # what a benchmark leaves behind goes with tmp_path
    done = subprocess.run([sys.executable, str(script), "--smoke"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=180)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{script.name} --smoke exited {done.returncode}:\n{output}"
    assert "Traceback" not in output, output
    assert NUMBER.search(done.stdout + done.stderr) and UNIT.search(output), output
