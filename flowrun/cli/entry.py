"""The ``flowrun`` command's first code: the stop signals are taken before anything else
is imported (but the tiny errors module), so SIGINT, SIGTERM or SIGHUP at any moment of start-up ends flowrun with
exit 2 and one line, never a traceback (and Ctrl-C works even where the shell started
flowrun with SIGINT ignored). Once a run starts, the engine turns them into events.
"""
import signal
import sys

from flowrun.errors import StopSignal


def _interrupt(signum, frame):
    raise StopSignal


def main():
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        signal.signal(getattr(signal, name), _interrupt)
    try:
        from flowrun.cli.streams import keep_children_off_our_pipes

        keep_children_off_our_pipes()
        from flowrun.cli.main import run

        code = run(sys.argv[1:])
    except KeyboardInterrupt:
        print("\n!!! interrupted !!!", file=sys.stderr)
        code = 2
    sys.exit(code)
