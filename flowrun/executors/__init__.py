"""Where an attempt runs: the executor interface, one attempt (``attempt``), capture, and
the built-in thread, process and SSH executors with the worker protocol they share."""
