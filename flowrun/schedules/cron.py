"""Cron schedules and partitions, as pure functions: which slots are due, which
partition a slot belongs to, which keys a backfill covers. No I/O, no store: the
``--due`` plugin (``flowrun.schedules.due``) feeds in the last claimed slot and "now".

Times are epoch seconds (floats) outside this module; inside, aware datetimes in the
flow's timezone, so cron fields mean wall-clock time there. cronsim follows Debian
cron across DST: on fall-back night a 02:30 job fires once, on spring-forward night it
fires at 03:00; an hourly ``0 * * * *`` fires for both 02:00s.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

from flowrun.plugin import CollectError

ALIASES = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
           "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
           "@hourly": "0 * * * *"}
CATCHUP = ("latest", "all", "none")
OVERLAP = ("skip", "wait")
#: ``catchup="none"``: a slot runs only if ``--due`` sees it this many seconds after it.
NONE_GRACE = 300.0
#: ``catchup="all"``: slots started by one invocation at most (the next one goes on).
MAX_CATCHUP = 100
#: Time partition granularities -> the strftime of their keys.
KEY_FORMATS = {"hourly": "%Y-%m-%dT%H", "daily": "%Y-%m-%d", "monthly": "%Y-%m"}
CATEGORIES = "categories"
SEP = "/"  # between the time key and the category: "2026-11-01/eu"


# -- checking a flow (called by graph.resolve at collection) ---------------------------

def check(flow: Any) -> None:
    """Raise ``CollectError`` naming the file and the value if the flow's schedule,
    timezone, catchup, overlap or partitions are wrong."""
    def bad(what: str, value: Any, why: str) -> CollectError:
        return CollectError(f"{flow.id}: bad {what} {value!r}: {why}", where=flow.id)

    if flow.catchup not in CATCHUP:
        raise bad("catchup", flow.catchup, "expected one of " + ", ".join(CATCHUP))
    if flow.overlap not in OVERLAP:
        raise bad("overlap", flow.overlap, "expected one of " + ", ".join(OVERLAP))
    try:
        tz = zone(flow.timezone)
    except ValueError as exc:
        raise bad("timezone", flow.timezone, str(exc)) from None
    if flow.schedule is not None:
        try:
            Schedule(flow.schedule, tz)
        except ValueError as exc:
            raise bad("schedule", flow.schedule, str(exc)) from None
    if flow.partitions is not None:
        try:
            Partitions.parse(flow.partitions, tz)
        except ValueError as exc:
            raise bad("partitions", flow.partitions, str(exc)) from None


def zone(name: str | None) -> Any:
    """The tzinfo for a timezone name (None: UTC); ``ValueError`` if unknown."""
    if name is None or name == "UTC":
        return timezone.utc
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("unknown timezone (use an IANA name such as "
                         "'Europe/Paris' or 'UTC')") from None


# -- cron --------------------------------------------------------------------------------

class Schedule:
    """A cron expression (5 fields, 6 with seconds first, or an ``@alias``) in a zone."""

    def __init__(self, expr: str, tz: Any = timezone.utc) -> None:
        if not isinstance(expr, str):
            raise ValueError("expected a cron expression string such as '0 6 * * *'")
        self.expr = ALIASES.get(expr.strip().lower(), expr.strip())
        self.tz = tz
        if self.expr.startswith("@"):
            raise ValueError(f"unknown alias (known: {', '.join(ALIASES)})")
        self._sim(datetime.now(tz))  # parse now: a bad expression fails at collection

    def _sim(self, start: datetime, reverse: bool = False) -> Iterator[datetime]:
        from cronsim import CronSim, CronSimError

        try:
            return CronSim(self.expr, start, reverse=reverse)
        except (CronSimError, ValueError) as exc:
            raise ValueError(str(exc) or "not a cron expression") from None

    def latest(self, now: float) -> float | None:
        """The newest slot at or before ``now``."""
        start = datetime.fromtimestamp(int(now) + 1, self.tz)  # cronsim is strict
        return next((t.timestamp() for t in self._sim(start, reverse=True)), None)

    def after(self, last: float, until: float | None = None,
              limit: int | None = None) -> list[float]:
        """Slots after ``last`` (exclusive) up to ``until`` (inclusive), oldest first."""
        found: list[float] = []
        for t in self._sim(datetime.fromtimestamp(last, self.tz)):
            stamp = t.timestamp()
            if (until is not None and stamp > until) or (limit and len(found) >= limit):
                break
            found.append(stamp)
        return found

    def before(self, now: float, limit: int) -> list[float]:
        """The newest ``limit`` slots at or before ``now``, newest first."""
        start = datetime.fromtimestamp(int(now) + 1, self.tz)
        found: list[float] = []
        for t in self._sim(start, reverse=True):
            if len(found) >= limit:
                break
            found.append(t.timestamp())
        return found

    def next_times(self, now: float, count: int = 3) -> list[datetime]:
        """The next ``count`` fire times after ``now``, in the schedule's zone."""
        return [datetime.fromtimestamp(t, self.tz) for t in self.after(now, limit=count)]


def due(schedule: Schedule, catchup: str, last: float | None, now: float
        ) -> tuple[list[float], list[float]]:
    """(slots to run, slots to record as skipped) for a flow whose newest claimed slot
    is ``last`` (None: never run, so it starts with its latest slot)."""
    if catchup == "all" and last is not None:
        return schedule.after(last, now, MAX_CATCHUP), []
    latest = schedule.latest(now)
    if latest is None or (last is not None and latest <= last):
        return [], []
    if catchup == "none" and now - latest > NONE_GRACE:
        return [], [latest]  # missed: recorded, so it is never looked at again
    return [latest], []


def split_busy(slots: list[float], busy_seen: float | None) -> tuple[list[float], list[float]]:
    """``overlap="skip"``: slots another ``--due`` found due while the previous run was
    still running are skipped. Returns (still to run, skipped)."""
    if not busy_seen:
        return slots, []
    return [s for s in slots if s > busy_seen], [s for s in slots if s <= busy_seen]


# -- partitions ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Partitions:
    """``Flow(partitions=...)``: ``{"daily": "2026-11-01"}`` (also ``hourly``,
    ``monthly``), ``{"categories": ["eu", "us"]}`` or a plain list, or both dimensions
    in one dict. Keys: ``2026-11-01``, ``eu``, ``2026-11-01/eu``."""

    granularity: str | None
    start: datetime | None  # naive wall-clock time in ``tz``
    categories: tuple[str, ...]
    tz: Any

    @classmethod
    def parse(cls, spec: Any, tz: Any) -> Partitions:
        if isinstance(spec, (list, tuple)):
            spec = {CATEGORIES: spec}
        if not isinstance(spec, dict) or not spec:
            raise ValueError("expected {'daily': 'YYYY-MM-DD'} (or hourly / monthly), "
                             "{'categories': [...]}, or a list of categories")
        unknown = sorted(set(spec) - {*KEY_FORMATS, CATEGORIES})
        if unknown:
            raise ValueError(f"unknown key {unknown[0]!r} (known: "
                             f"{', '.join([*KEY_FORMATS, CATEGORIES])})")
        times = [k for k in spec if k in KEY_FORMATS]
        if len(times) > 1:
            raise ValueError("at most one time dimension (hourly, daily or monthly)")
        gran = times[0] if times else None
        start = parse_time(spec[gran], gran) if gran else None
        return cls(gran, start, _categories(spec.get(CATEGORIES)), tz)

    def time_key(self, when: float) -> str | None:
        """The time partition holding the moment ``when`` (in the flow's zone)."""
        if self.granularity is None:
            return None
        wall = datetime.fromtimestamp(when, self.tz).replace(tzinfo=None)
        return wall.strftime(KEY_FORMATS[self.granularity])

    def keys_for(self, time_key: str | None) -> list[str]:
        """Every full key for one time key (one per category, if any)."""
        if not self.categories:
            return [time_key] if time_key else []
        return [c if time_key is None else f"{time_key}{SEP}{c}" for c in self.categories]

    def time_keys(self, start: datetime | None, end: datetime) -> list[str]:
        """Time keys from ``start`` (default: the partitions' start) to ``end``."""
        if self.granularity is None:
            return []
        current = _floor(max(start or self.start, self.start), self.granularity)
        keys = []
        while current <= end:
            keys.append(current.strftime(KEY_FORMATS[self.granularity]))
            current = _step(current, self.granularity)
        return keys

    def wall(self, when: float) -> datetime:
        return datetime.fromtimestamp(when, self.tz).replace(tzinfo=None)

    def check_key(self, key: str) -> str:
        """``key`` if it names a partition; ``ValueError`` saying what keys look like."""
        time_part, category = self._split(key)
        if category is not None and category not in self.categories:
            raise ValueError(f"unknown category {category!r} (known: "
                             f"{', '.join(self.categories)})")
        if self.granularity:
            moment = parse_time(time_part, self.granularity)
            if moment < self.start:
                raise ValueError(f"before the first partition "
                                 f"{self.start.strftime(KEY_FORMATS[self.granularity])}")
            time_part = moment.strftime(KEY_FORMATS[self.granularity])
        return SEP.join(p for p in (time_part, category) if p)

    def _split(self, key: str) -> tuple[str | None, str | None]:
        if self.granularity and self.categories:
            time_part, sep, category = key.partition(SEP)
            if not sep:
                raise ValueError(f"expected TIME{SEP}CATEGORY such as "
                                 f"{self.example()!r}")
            return time_part, category
        return (key, None) if self.granularity else (None, key)

    def example(self) -> str:
        time_part = self.start.strftime(KEY_FORMATS[self.granularity]) \
            if self.granularity else None
        return self.keys_for(time_part)[0]

    def backfill_keys(self, text: str, now: float) -> list[str]:
        """Keys covered by ``START..END`` (either side may be left out: the first
        partition, the current one), oldest first."""
        start_text, sep, end_text = text.partition("..")
        if not sep:
            raise ValueError("expected START..END, such as 2026-11-01..2026-11-07")
        if self.granularity is None:
            return self.keys_for(None)
        start = parse_time(start_text, self.granularity) if start_text else None
        end = parse_time(end_text, self.granularity) if end_text else self.wall(now)
        if start is not None and start > end:
            raise ValueError(f"{start_text} is after {end_text}")
        return [k for t in self.time_keys(start, end) for k in self.keys_for(t)]


def _categories(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)) or not value:
        raise ValueError("categories: expected a non-empty list of names")
    names = tuple(value)
    for name in names:
        if not isinstance(name, str) or not name or SEP in name or name != name.strip():
            raise ValueError(f"category {name!r}: expected a non-empty name without "
                             f"{SEP!r} or surrounding spaces")
    if len(set(names)) != len(names):
        raise ValueError("categories: a name is listed twice")
    return names


_TIME_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H", "%Y-%m-%d %H:%M",
                 "%Y-%m-%d", "%Y-%m")


def parse_time(text: Any, granularity: str) -> datetime:
    """A naive wall-clock datetime from an ISO-like date, floored to ``granularity``."""
    for fmt in _TIME_FORMATS:
        try:
            return _floor(datetime.strptime(str(text).strip(), fmt), granularity)
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date like "
                     f"{datetime(2026, 11, 1, 6).strftime(KEY_FORMATS[granularity])}")


def _floor(moment: datetime, granularity: str) -> datetime:
    moment = moment.replace(minute=0, second=0, microsecond=0)
    if granularity != "hourly":
        moment = moment.replace(hour=0)
    if granularity == "monthly":
        moment = moment.replace(day=1)
    return moment


def _step(moment: datetime, granularity: str) -> datetime:
    if granularity == "hourly":
        return moment + timedelta(hours=1)
    if granularity == "daily":
        return moment + timedelta(days=1)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year,
                                                                   moment.month + 1)
    return moment.replace(year=year, month=month)


def parse_now(text: str) -> float:
    """``FLOWRUN_NOW``: an ISO time (``2026-11-22T06:00:00+00:00``; UTC if no offset)
    or epoch seconds."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"FLOWRUN_NOW={text!r}: expected an ISO time such as "
                         "2026-11-22T06:00:00+00:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()
