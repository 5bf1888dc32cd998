"""The project's own tests use the ``project`` fixture of flowrun.testing (loaded via
its pytest11 entry point)."""
