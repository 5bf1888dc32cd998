"""Cron schedules: the maths (pure), the ``--due`` plugin and its commands."""
