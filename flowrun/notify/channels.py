"""Where notifications go: ``[[tool.flowrun.notify]]`` tables and ``Flow(notify=[...])``,
read and checked once (an Apprise URL it cannot send to, an unknown event, a bad
``flows`` expression: one line naming the file and the key, exit 4)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from flowrun.config_keys import parse_duration
from flowrun.expression import compile_expression
from flowrun.hashing import blake2b
from flowrun.notify import KEYS  # noqa: F401 - where it was, for importers

EVENTS = ("failed", "interrupted", "recovered", "succeeded", "missed", "long_running")
DEFAULT_ON = ("failed", "recovered")


class ChannelError(ValueError):
    """A table that cannot be used; the message names the key."""


@dataclass(frozen=True)
class Channel:
    """One place to send to: an Apprise URL (``to``) or a program (``command``) that
    reads the payload on stdin."""

    to: str | None
    command: tuple[str, ...] | None
    on: frozenset[str]
    flows: str | None
    min_interval: float

    @property
    def key(self) -> str:
        """Names the channel in the outbox without its secrets (a hash)."""
        target = self.to or "\0".join(self.command or ())
        return blake2b(target.encode(), digest_size=8).hexdigest()

    def label(self) -> str:
        """The channel as shown: the URL with its tokens and passwords hidden."""
        if self.command:
            return f"command: {self.command[0]}"
        apprise = load_apprise()

        plugin = apprise.Apprise.instantiate(self.to)
        return plugin.url(privacy=True).split("?")[0] if plugin else _scheme(self.to or "")

    def wants(self, event: str, tags: Callable[[str], bool]) -> bool:
        """Is ``event`` one this channel is for, for a flow whose tags ``tags`` tells?"""
        if event != "test" and event not in self.on:
            return False
        return self.flows is None or compile_expression(self.flows)(tags)


def parse_channel(table: Any) -> Channel:
    """A channel from one table; ``ChannelError`` naming the key that is wrong."""
    if not isinstance(table, dict):
        raise ChannelError(f"= {table!r}: expected a table (to = URL, on = [...])")
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise ChannelError(f"{unknown[0]}: unknown key (known: {', '.join(KEYS)})")
    to, command = table.get("to"), table.get("command")
    if (to is None) == (command is None):
        raise ChannelError("needs either to = \"URL\" (Apprise) or command = [...]")
    if to is not None and (not isinstance(to, str) or "://" not in to):
        raise ChannelError(f"to = {to!r}: expected an Apprise URL such as json://host/path")
    if command is not None and (not isinstance(command, list) or not command or
                                not all(isinstance(c, str) and c for c in command)):
        raise ChannelError(f"command = {command!r}: expected a list of strings (argv)")
    return Channel(to, tuple(command) if command else None, _events(table),
                   _flows(table.get("flows")), _interval(table.get("min_interval", 0)))


def _events(table: dict[str, Any]) -> frozenset[str]:
    on = table.get("on", list(DEFAULT_ON))
    on = [on] if isinstance(on, str) else on
    if not isinstance(on, list) or not on:
        raise ChannelError(f"on = {on!r}: expected a list of events ({', '.join(EVENTS)})")
    for event in on:
        if event not in EVENTS:
            from flowrun.option_checks import did_you_mean

            raise ChannelError(f"on: unknown event {event!r}"
                               f"{did_you_mean(str(event), list(EVENTS))} "
                               f"(events: {', '.join(EVENTS)})")
    return frozenset(on)


def _flows(text: Any) -> str | None:
    if text is None:
        return None
    if not isinstance(text, str):
        raise ChannelError(f"flows = {text!r}: expected a tag expression such as "
                           "\"daily and not experimental\"")
    try:
        compile_expression(text)
    except Exception as exc:  # UsageError: the expression's own message
        raise ChannelError(f"flows: {exc}") from None
    return text


def _interval(value: Any) -> float:
    seconds = parse_duration(value)
    if seconds is None:
        raise ChannelError(f"min_interval = {value!r}: expected seconds or a duration "
                           "such as '15m'")
    return seconds


def _scheme(url: str) -> str:
    return url.split("://", 1)[0] + "://..."


def load_apprise() -> Any:
    """The ``apprise`` module. It imports ``imghdr`` (deprecated in Python 3.11 and
    3.12) when it loads a channel: imported here first, with that warning silenced, so
    strict warning filters never turn a notification into an error."""
    import sys
    import warnings

    if sys.version_info < (3, 13):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import imghdr  # noqa: F401
    import apprise

    return apprise


def check_urls(channels: list[Channel], checked: Any = None) -> str | None:
    """The first ``to`` URL Apprise cannot send to, with why; None if all are good.
    Imports Apprise (~0.15-0.3 s) unless ``checked`` (a file) says these very URLs
    passed before: a project's every run does not pay for it."""
    urls = [c.to for c in channels if c.to]
    if not urls:
        return None
    key = urls_key(urls)
    if checked is not None and key in _read_lines(checked):
        return None
    apprise = load_apprise()
    for url in urls:
        if apprise.Apprise.instantiate(url) is None:
            return f"to = {_scheme(url)!r}: Apprise cannot send to this URL (unknown " \
                "service or missing parts; see the Apprise wiki for the URL's form)"
    if checked is not None:
        _remember(checked, key)
    return None


def urls_key(urls: list[str]) -> str:
    return blake2b("\n".join(sorted(urls)).encode(), digest_size=16).hexdigest()


def remember_checked(channels: list[Channel], checked: Any) -> None:
    """Note that these channels' URLs passed (a first run made ``.flowrun`` since)."""
    urls = [c.to for c in channels if c.to]
    if urls and urls_key(urls) not in _read_lines(checked):
        _remember(checked, urls_key(urls))


def _read_lines(path: Any) -> list[str]:
    try:
        return path.read_text().split()
    except (OSError, UnicodeDecodeError):
        return []


def _remember(path: Any, key: str) -> None:
    """Keep ``key`` among the last few checked URL sets (best effort)."""
    try:
        if path.parent.is_dir():
            path.write_text("\n".join([*_read_lines(path)[-9:], key]) + "\n")
    except OSError:
        pass
