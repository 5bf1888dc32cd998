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


def _stop_where_it_cannot_raise(unraisable):
    """A signal whose ``StopSignal`` lands where Python cannot raise it (a weakref
    callback inside the import system, a ``__del__``) would be printed and then lost:
    the stop is honoured here instead. Nothing has started then that needs more than
    the exit (runs begin only once the engine has taken the signals over)."""
    if isinstance(unraisable.exc_value, StopSignal):
        import os

        sys.stdout.flush()
        print("\n!!! interrupted !!!", file=sys.stderr, flush=True)
        os._exit(2)
    sys.__unraisablehook__(unraisable)


def main():
    sys.unraisablehook = _stop_where_it_cannot_raise
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        signal.signal(getattr(signal, name), _interrupt)
    try:
        from flowrun.cli.streams import keep_children_off_our_pipes

        keep_children_off_our_pipes()
        from flowrun.cli.main import run

        code = run(sys.argv[1:], own_process=True)
    except KeyboardInterrupt:
        print("\n!!! interrupted !!!", file=sys.stderr)
        code = 2
    from flowrun.cli.threads import exit_despite_threads

    exit_despite_threads(code)
    _spare_the_exit_collections()
    sys.exit(code)


def _spare_the_exit_collections():
    """Python's exit collects garbage twice over every object still tracked (4-5 ms
    after a 1,000-task run); the objects are freed as the modules are cleared anyway,
    so they are frozen out of those passes. Only garbage in reference cycles is then
    left to the OS, whose finalizers Python never promised to run at exit."""
    import gc

    gc.freeze()
