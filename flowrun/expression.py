"""pytest's ``-k`` / ``-m`` expression language: ``and``, ``or``, ``not``, parentheses.

``compile_expression("etl and not slow")`` returns a predicate taking a function that
says whether one identifier matches, so ``-k`` (substring of names) and ``-m`` (exact
tags) share the parser.
"""
from __future__ import annotations

import re
from typing import Callable

from flowrun.errors import UsageError

Matcher = Callable[[str], bool]
Predicate = Callable[[Matcher], bool]
_TOKEN = re.compile(r"\s*(\(|\)|[^\s()]+)")
#: What a name may hold, as in pytest's -k/-m grammar (quotes, commas, ... may not).
_IDENT = re.compile(r"[\w:+\-.\[\]\\/]+")


def compile_expression(text: str) -> Predicate:
    """Parse ``text`` once; raise ``UsageError`` pointing at what is wrong."""
    tokens = _TOKEN.findall(text)
    if not tokens:
        return lambda match: True
    parser = _Parser(tokens, text)
    predicate = parser.parse_or()
    if parser.pos != len(tokens):
        raise UsageError(f"bad expression {text!r}: unexpected {tokens[parser.pos]!r}")
    return predicate


class _Parser:
    def __init__(self, tokens: list[str], text: str) -> None:
        self.tokens, self.text, self.pos = tokens, text, 0

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self) -> str:
        token = self._peek()
        if token is None:
            raise UsageError(f"bad expression {self.text!r}: it ends too early")
        self.pos += 1
        return token

    def parse_or(self) -> Predicate:
        left = self.parse_and()
        while self._peek() == "or":
            self.pos += 1
            right = self.parse_and()
            left = (lambda a, b: lambda m: a(m) or b(m))(left, right)
        return left

    def parse_and(self) -> Predicate:
        left = self.parse_not()
        while self._peek() == "and":
            self.pos += 1
            right = self.parse_not()
            left = (lambda a, b: lambda m: a(m) and b(m))(left, right)
        return left

    def parse_not(self) -> Predicate:
        token = self._take()
        if token == "not":
            inner = self.parse_not()
            return lambda m: not inner(m)
        if token == "(":
            inner = self.parse_or()
            if self._take() != ")":
                raise UsageError(f"bad expression {self.text!r}: missing ')'")
            return inner
        if token in (")", "and", "or"):
            raise UsageError(f"bad expression {self.text!r}: unexpected {token!r}")
        bad = _IDENT.sub("", token)
        if bad:
            column = self.text.find(token) + token.find(bad[0]) + 1
            raise UsageError(f"bad expression {self.text!r}: at column {column}: unexpected "
                             f"character {bad[0]!r} (names are letters, digits and _:+-.[]/\\"
                             ", as in pytest)")
        return lambda m: m(token)
