"""Many rows into one table within a transaction that a hung host must not keep open.

psycopg pipelines ``executemany`` (one statement per row, sent back to back), and a
``COPY`` streams rows. A client that stops midway through either leaves its server
session waiting inside a statement, where ``idle_in_transaction_session_timeout`` never
ends it: the transaction keeps its row locks as long as the hung process lives, and a
run row locked that way is never declared interrupted. So a flush ``stage``s its many
rows by ``COPY`` into temporary tables first, before it locks any shared row, and
every later write is one whole statement: a hung host's transaction is then ended by
the server after ``lease_timeout``, like any transaction left idle between statements."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

#: From this many rows they are staged by ``COPY`` (a tenth of the time per row of
#: statements with many ``VALUES``).
COPY_FROM = 64
#: PostgreSQL's limit on the parameters of one statement.
MAX_PARAMETERS = 65_535


@dataclass(frozen=True)
class Upsert:
    """How rows are written to ``table``: ``INSERT (columns) … on_conflict``."""

    table: str
    columns: tuple[str, ...]
    on_conflict: str = ""

    def stage(self, cur: Any, rows: Sequence[tuple]) -> bool:
        """``COPY`` many ``rows`` into this table's temporary twin (one per connection,
        emptied at commit); whether they were."""
        if len(rows) < COPY_FROM:
            return False
        columns = ", ".join(self.columns)
        cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {self.table}_batch ON COMMIT DELETE "
                    f"ROWS AS SELECT {columns} FROM {self.table} WITH NO DATA")
        with cur.copy(f"COPY {self.table}_batch ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return True

    def write(self, cur: Any, rows: Sequence[tuple], staged: bool = False) -> None:
        """Write ``rows`` (from the twin if ``staged``, where ``ORDER BY ctid`` keeps
        their order) in as few whole statements as the limit on parameters allows."""
        columns = ", ".join(self.columns)
        head = f"INSERT INTO {self.table} ({columns})"
        if staged:
            cur.execute(f"{head} SELECT {columns} FROM {self.table}_batch ORDER BY ctid"
                        f"{self.on_conflict}")
            return
        if not rows:
            return
        one = "(" + ", ".join(["%s"] * len(self.columns)) + ")"
        step = MAX_PARAMETERS // len(self.columns)
        for start in range(0, len(rows), step):
            chunk = rows[start:start + step]  # not prepared: the number of rows varies
            cur.execute(f"{head} VALUES {', '.join([one] * len(chunk))}{self.on_conflict}",
                        [value for row in chunk for value in row], prepare=False)
