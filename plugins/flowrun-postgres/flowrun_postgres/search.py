"""Full-text search of the stored logs (the optional ``LogSearchStore`` interface).

A GIN index over ``flowrun_log_words(stdout, stderr, log)`` (schema 5): the words of an
attempt's output, punctuation made blanks (``orders.csv`` is the words ``orders`` and
``csv``, as SQLite's FTS5 sees it), with the ``simple`` configuration (no stemming, no
stop words: a log's words are not prose). The index finds the attempts that hold every
word of the search; each one's lines are then matched here, the words as a phrase (in
order, next to each other), and numbered within the attempt's stream."""
from __future__ import annotations

import re
from typing import Any, Iterator

from flowrun.plugin import LogHit

STREAMS = ("stdout", "stderr", "log")
WORD = re.compile(r"\w+")
_SEARCH = (
    "SELECT a.run_id, r.flow, a.task_id, a.attempt, a.stdout, a.stderr, a.log FROM "
    "flowrun_attempts a JOIN flowrun_runs r ON r.id = a.run_id WHERE "
    "flowrun_log_words(a.stdout, a.stderr, a.log) @@ plainto_tsquery('simple', "
    "regexp_replace(%s, '[[:punct:]]+', ' ', 'g')) AND (a.stdout <> '' OR "
    "a.stderr <> '' OR a.log <> '') {flow}"
    "ORDER BY r.started DESC, a.seq DESC LIMIT %s OFFSET %s")


class SearchMethods:
    """Mixed into ``PostgresStorage``: its ``execute`` and ``flush``."""

    execute: Any
    flush: Any

    def search_logs(self, text: str, flow: str | None = None, limit: int = 100
                    ) -> list[LogHit]:
        words = WORD.findall(text.lower())
        if not words:
            return []
        self.flush()
        sql = _SEARCH.format(flow="AND r.flow = %s " if flow else "")
        hits: list[LogHit] = []
        page, offset = max(limit, 20), 0
        while True:  # pages of candidates, until enough lines matched or none is left
            rows = self.execute(sql, (" ".join(words), *([flow] if flow else []),
                                      page, offset))
            for run_id, flow_id, task_id, attempt, *streams in rows:
                for stream, number, line in _matching_lines(streams, words):
                    hits.append(LogHit(run_id, flow_id, task_id, attempt, stream,
                                       number, line))
                    if len(hits) >= limit:
                        return hits
            if len(rows) < page:
                return hits
            offset += page


def _matching_lines(streams: list[str | None], words: list[str]
                    ) -> Iterator[tuple[str, int, str]]:
    for stream, text in zip(STREAMS, streams):
        for number, line in enumerate((text or "").splitlines(), start=1):
            if _has_phrase(WORD.findall(line.lower()), words):
                yield stream, number, line


def _has_phrase(tokens: list[str], words: list[str]) -> bool:
    size = len(words)
    return any(tokens[i:i + size] == words for i in range(len(tokens) - size + 1))
