"""Built-in reporters: plugins on the ``flowrun_*_start`` / ``_finish`` hooks."""
