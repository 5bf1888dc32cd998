"""A stop signal at any moment of start-up: exit 2 and one line, never a traceback
through flowrun's code. (A signal that lands before the interpreter has run a line of
flowrun kills the process the way the signal's default does; nothing can run then.)"""
from __future__ import annotations

import random
import signal
import subprocess
import sys
import time


def test_early_sigint_sigterm_and_sighup_exit_2_without_a_traceback(project):
    project.write("flows/flow_a.py", "from flowrun import task\n@task\ndef a(): pass\n")
    rng = random.Random(7)
    signals = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP] * 5
    outcomes = []
    for sig in signals:
        proc = subprocess.Popen([sys.executable, "-m", "flowrun", "-q"], cwd=project.path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(rng.uniform(0.05, 0.3))
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
        outcomes.append((sig.name, proc.returncode, err))
        assert "flowrun/" not in err, err  # no frame of flowrun's own code
        if "interrupted" in err:  # flowrun's handler ran: one line
            assert err.strip() == "!!! interrupted !!!", err
    assert sum(code == 2 for _, code, _ in outcomes) >= len(signals) * 2 // 3, outcomes
