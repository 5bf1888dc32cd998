"""The ``flowrun`` command: ``main`` (the one exception boundary) and one module per
subcommand."""
