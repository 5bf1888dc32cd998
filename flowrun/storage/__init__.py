"""Where runs are kept: the storage interface and the built-in SQLite store."""
