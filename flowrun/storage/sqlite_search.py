"""Full-text search of the SQLite store's logs: an FTS5 index over the attempts'
stdout, stderr and log records, made and queried through ``sqlite-utils`` (imported on
the first search, so runs never pay for it).

The index is brought up to date at each search, from the rowid it reached last time
(kept in ``log_index``). Attempts are written with ``INSERT OR REPLACE``: a rewritten
attempt gets a rowid above every other, except the newest row, which keeps its own; so
an unfinished newest row is indexed again next time. Entries left by replaced rows
point at rowids that no longer exist and drop out of the join; every candidate is
checked against its stored text line by line.
"""
from __future__ import annotations

import re
import sqlite3
from typing import Any, Callable, Iterator

from flowrun.plugin import LogHit

STREAMS = ("stdout", "stderr", "log")
WORD = re.compile(r"\w+", re.UNICODE)
UNFINISHED = ("pending", "running")


def search_logs(conn: sqlite3.Connection, transaction: Callable[[], Any], text: str,
                flow: str | None, limit: int) -> list[LogHit]:
    import sqlite_utils

    words = [w.lower() for w in WORD.findall(text)]
    if not words:
        return []
    db = sqlite_utils.Database(conn)
    bring_up_to_date(db, transaction)
    where, args = None, {}
    if flow:
        where, args = "run_id IN (SELECT id FROM runs WHERE flow = :flow)", {"flow": flow}
    rows = db["attempts"].search(
        " ".join(words), columns=["run_id", "task_id", "attempt", *STREAMS],
        order_by='"original".rowid DESC', where=where, where_args=args, quote=True,
        limit=limit * 4)
    hits: list[LogHit] = []
    flows: dict[str, str] = {}
    for row in rows:
        flow_id = flows.get(row["run_id"]) or flows.setdefault(
            row["run_id"], _flow_of(conn, row["run_id"]))
        for stream, number, line in _matching_lines(row, words):
            hits.append(LogHit(row["run_id"], flow_id, row["task_id"], row["attempt"],
                               stream, number, line))
            if len(hits) >= limit:
                return hits
    return hits


def bring_up_to_date(db: Any, transaction: Callable[[], Any]) -> None:
    """Make the index if missing, then index the attempts written since last time."""
    conn = db.conn
    if not db["attempts_fts"].exists():
        try:  # one statement, outside a transaction (sqlite-utils runs it as a script)
            db["attempts"].enable_fts(list(STREAMS), fts_version="FTS5")
        except sqlite3.OperationalError as exc:
            if "already exists" not in str(exc):  # made meanwhile by another search
                raise
    with transaction():
        conn.execute('CREATE TABLE IF NOT EXISTS "log_index" ("indexed" INTEGER)')
        row = conn.execute('SELECT "indexed" FROM "log_index"').fetchone()
        done = row[0] if row else 0
        newest = conn.execute("SELECT rowid, status FROM attempts ORDER BY rowid DESC "
                              "LIMIT 1").fetchone()
        if newest is None or newest[0] <= done:
            return
        conn.execute(
            'INSERT INTO "attempts_fts" (rowid, stdout, stderr, log) SELECT rowid, stdout, '
            "stderr, log FROM attempts WHERE rowid > ? AND rowid <= ? AND (stdout != '' "
            "OR stderr != '' OR log != '')", (done, newest[0]))
        reached = newest[0] - 1 if newest[1] in UNFINISHED else newest[0]
        conn.execute('DELETE FROM "log_index"')
        conn.execute('INSERT INTO "log_index" VALUES (?)', (reached,))


def _matching_lines(row: dict[str, Any], words: list[str]
                    ) -> Iterator[tuple[str, int, str]]:
    for stream in STREAMS:
        for number, line in enumerate((row[stream] or "").splitlines(), start=1):
            lowered = line.lower()
            if all(word in lowered for word in words):
                yield stream, number, line


def _flow_of(conn: sqlite3.Connection, run_id: str) -> str:
    row = conn.execute("SELECT flow FROM runs WHERE id=?", (run_id,)).fetchone()
    return row[0] if row else ""
