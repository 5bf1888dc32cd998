"""A stop signal at any moment of start-up: exit 2 and one line, never a traceback
through flowrun's code. (A signal that lands before the interpreter has run a line of
flowrun kills the process the way the signal's default does; nothing can run then.)"""
from __future__ import annotations

import random
import signal
import subprocess
import sys
import time

from flowrun.testing import flowrun_command


def test_early_sigint_sigterm_and_sighup_exit_2_without_a_traceback(project):
    project.write("flows/flow_a.py", "from flowrun import task\n@task\ndef a(): pass\n")
    rng = random.Random(7)
    signals = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP] * 5
    command = flowrun_command("-q")
    start = time.monotonic()  # how long the whole command takes here, now: the signals
    subprocess.run(command, cwd=project.path, capture_output=True, check=True)
    whole = time.monotonic() - start  # land inside it, whatever the machine's speed
    outcomes = []
    for sig in signals:
        proc = subprocess.Popen(command, cwd=project.path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(rng.uniform(0.2, 0.8) * whole)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
        outcomes.append((sig.name, proc.returncode, err))
        assert "flowrun/" not in err, err  # no frame of flowrun's own code
        if "interrupted" in err:  # flowrun's handler ran: one line
            assert err.strip() == "!!! interrupted !!!", err
    assert sum(code == 2 for _, code, _ in outcomes) >= len(signals) * 2 // 3, outcomes


def test_a_stop_signal_python_cannot_raise_still_stops_with_one_line(tmp_path):
    """A signal handled inside a weakref callback or a ``__del__`` (the import system
    has such callbacks) raises where Python only prints and drops the exception: the
    stop must still happen, as exit 2 and the one line."""
    script = """
import signal, sys, time
from flowrun.cli import entry

sys.argv = ["flowrun", "--version"]
class Dropped:
    def __del__(self):
        signal.raise_signal(signal.SIGTERM)   # the handler raises StopSignal in here
def fake_run(argv, **options):
    Dropped()  # collected at once: its __del__ runs, its exception is unraisable
    time.sleep(5)
    return 0
import flowrun.cli.main
flowrun.cli.main.run = fake_run
entry.main()
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert done.stderr.strip() == "!!! interrupted !!!", done.stderr
