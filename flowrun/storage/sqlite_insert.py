"""Writing rows to the SQLite store fast: a task's row is mostly NULL columns, and
sqlite3 binds a ``None`` through its adapter lookup (about 0.3 µs each), so rows are
written naming only their columns that hold something."""
from __future__ import annotations

import operator
import sqlite3
from itertools import compress


def insert_rows(conn: sqlite3.Connection, table: str, columns: tuple[str, ...],
                rows: list[tuple]) -> None:
    """``INSERT OR REPLACE`` each row naming only its columns that are not NULL (half
    what a task's row costs). Rows keep their order (their rowids are the order
    attempts happened in): one statement per run of rows with the same columns."""
    nones = (None,) * len(columns)
    batch: list[tuple] = []
    shape: tuple[bool, ...] = ()
    for row in rows:
        present = tuple(map(operator.is_not, row, nones))
        if present != shape:
            _insert(conn, table, columns, shape, batch)
            shape, batch = present, []
        batch.append(tuple(compress(row, present)))
    _insert(conn, table, columns, shape, batch)


def _insert(conn: sqlite3.Connection, table: str, columns: tuple[str, ...],
            present: tuple[bool, ...], values: list[tuple]) -> None:
    if values:
        names = list(compress(columns, present))
        conn.executemany(f"INSERT OR REPLACE INTO {table} ({', '.join(names)}) "
                         f"VALUES ({', '.join('?' * len(names))})", values)
