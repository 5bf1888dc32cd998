"""``flowrun --watch``: the observer, one cycle, the warm spare process, the import graph."""
