"""[plugin] Notifications: ``[[tool.flowrun.notify]]`` tables and ``Flow(notify=[...])``.

Nothing happens per task: at the end of an invocation (its runs' states stored) each
run's events (``failed``, ``interrupted``, ``succeeded``, ``recovered``) go to the
``flowrun_notify`` hook and, through the store's outbox, to every channel that wants
them; then the outbox is delivered (``flowrun.notify.outbox``).
"""
from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

from flowrun.errors import CollectError, ConfigError
from flowrun.hookspecs import hookimpl
from flowrun.notify import KEYS

if TYPE_CHECKING:  # the channels module loads only where channels are configured
    from flowrun.notify.channels import Channel

#: Seconds the end of an invocation waits for notifications to go (retries included).
DEFAULT_WAIT = 5.0
NOT_OK = ("failed", "interrupted")


@hookimpl
def flowrun_addoption(parser: Any) -> None:
    parser.addini("notify", "where to send notifications ([[tool.flowrun.notify]])",
                  keys=KEYS)
    parser.addini("missed_after", "a cron slot not started this long after its time is "
                  "missed (default 15m)")
    parser.addini("expected_duration", "a run still running after this long is "
                  "long_running")
    parser.addini("ui_url", "the address of `flowrun ui`, for links in notifications")
    parser.addini("notify_wait", "seconds an invocation waits for its notifications "
                  "to go (default 5)")


@hookimpl
def flowrun_commands() -> dict[str, tuple[str, Any]]:
    return {"notify": ("send a test notification, list recent deliveries",
                       "flowrun.notify.commands:make_notify_command"),
            "metrics": ("the store's figures in the Prometheus text format",
                        "flowrun.notify.commands:make_metrics_command")}


@hookimpl
def flowrun_configure(config: Any) -> None:
    """Check the tables and their URLs before anything runs; a run session gets the
    notifier (its hooks run once per invocation, never per task)."""
    channels = project_channels(config, check=True)
    if config.getoption("collectonly") or config.pluginmanager.has_plugin("notifier"):
        return
    config.pluginmanager.register(Notifier(config, channels), "notifier")


@hookimpl
def flowrun_check_flow(flow: Any) -> None:
    if flow.notify is None and flow.missed_after is None and flow.expected_duration is None:
        return
    from flowrun.config_keys import parse_duration

    for option in ("missed_after", "expected_duration"):
        value = getattr(flow, option)
        if value is not None and not parse_duration(value):
            raise _bad(flow, f"{option}={value!r}: expected seconds or a duration such "
                       "as '15m'")
    flow_channels(flow)


def flow_channels(flow: Any) -> list[Channel]:
    """``Flow(notify=[...])``'s channels; ``CollectError`` naming the flow and key."""
    tables = flow.notify or []
    if not isinstance(tables, (list, tuple)):
        raise _bad(flow, f"notify={tables!r}: expected a list of tables such as "
                   "[{'to': 'json://host/hook', 'on': ['failed']}]")
    if not tables:
        return []
    from flowrun.notify.channels import ChannelError, check_urls, parse_channel

    channels = []
    for number, table in enumerate(tables, 1):
        try:
            channels.append(parse_channel(table))
        except ChannelError as exc:
            raise _bad(flow, f"notify table {number} {exc}") from None
    problem = check_urls(channels)
    if problem:
        raise _bad(flow, f"notify {problem}")
    return channels


def _bad(flow: Any, why: str) -> CollectError:
    return CollectError(f"{flow.id}: Flow option {why}", where=flow.id)


def project_channels(config: Any, check: bool = False) -> list[Channel]:
    """The config file's channels; ``ConfigError`` naming the file and the key. (The
    channels module loads only for a project that has some.)"""
    tables = config.ini.get("notify") or []
    tables = [tables] if isinstance(tables, dict) else tables
    where = f"{config.inifile}: [[tool.flowrun.notify]]" if config.inifile and \
        config.inifile.endswith("pyproject.toml") else f"{config.inifile}: [[notify]]"
    channels = _parsed(tables, where) if tables else []
    _check_settings(config)
    if check and channels:
        from flowrun.notify.channels import check_urls

        problem = check_urls(channels, _checked_file(config))
        if problem:
            raise ConfigError(f"{where} {problem}")
    return channels


def _parsed(tables: list[Any], where: str) -> list[Channel]:
    from flowrun.notify.channels import ChannelError, parse_channel

    channels = []
    for number, table in enumerate(tables, 1):
        try:
            channels.append(parse_channel(table))
        except ChannelError as exc:
            raise ConfigError(f"{where} #{number} {exc}") from None
    return channels


def _checked_file(config: Any) -> Any:
    """Where the URL sets that passed the check are remembered: the project's
    ``.flowrun`` folder, when it exists."""
    from pathlib import Path

    return Path(config.rootdir) / ".flowrun" / "notify-urls-checked"


def _check_settings(config: Any) -> None:
    from flowrun.config_keys import parse_duration

    for key in ("missed_after", "expected_duration", "notify_wait"):
        value = config.ini.get(key)
        if value is not None and parse_duration(value) is None:
            raise ConfigError(f"{config.inifile}: {key} = {value!r}: expected seconds or "
                              "a duration such as '15m'")
    url = config.ini.get("ui_url")
    if url is not None and (not isinstance(url, str) or "://" not in url):
        raise ConfigError(f"{config.inifile}: ui_url = {url!r}: expected the UI's "
                          "address, such as http://127.0.0.1:8765")


def wait_seconds(config: Any) -> float:
    from flowrun.config_keys import parse_duration

    value = config.ini.get("notify_wait")
    return DEFAULT_WAIT if value is None else float(parse_duration(value) or 0.0)


class Notifier:
    """Turns the session's finished runs into events, messages, and deliveries."""

    def __init__(self, config: Any, channels: list[Channel]) -> None:
        self.config, self.channels = config, channels
        self.slots_before: dict[str, float] = {}  # --due: newest cron slots, at its start
        self.flows: dict[str, Any] = {}
        self.long_running: Any = None  # LongRunning, once a flow has an expected_duration

    @hookimpl(tryfirst=True)
    def flowrun_make_requests(self, session: Any, params: Any) -> None:
        """Before ``--due`` claims slots: what it had claimed so far (answers nothing)."""
        self.flows = {flow.id: flow for flow in session.flows}
        if self.config.getoption("due") and session.storage is not None:
            from flowrun.notify.missed import newest_slots

            self.slots_before = newest_slots(session.storage)

    @hookimpl
    def flowrun_run_start(self, run: Any) -> None:
        flow = self.flows.get(run.flow_id)
        if flow is None or (flow.expected_duration is None and
                            self.config.ini.get("expected_duration") is None):
            return
        if self.long_running is None:
            from flowrun.notify.long_running import LongRunning

            self.long_running = LongRunning(self.config)
        self.long_running.start(run, flow, [*self.channels, *flow_channels(flow)])

    @hookimpl
    def flowrun_run_finish(self, run: Any) -> None:
        if self.long_running is not None:
            self.long_running.finish(run)

    @hookimpl(trylast=True)  # after the summary line: a slow channel delays nothing shown
    def flowrun_session_finish(self, session: Any) -> None:
        storage = session.storage
        if self.channels:  # the first run of a project made .flowrun only now
            from flowrun.notify.channels import remember_checked

            remember_checked(self.channels, _checked_file(self.config))
        try:
            known = self._queue(session, storage) if storage is not None else {}
            if known and _has_outbox(storage):
                from flowrun.notify.outbox import deliver

                notes: list[str] = []
                deliver(storage, known, wait_seconds(self.config), self.config.rootdir,
                        notes)
                for note in notes:
                    print(f"flowrun: {note}", file=sys.stderr)
        except Exception as exc:  # a notification never changes a run's outcome
            print(f"flowrun: notifications: {type(exc).__name__}: {exc}", file=sys.stderr)

    def _queue(self, session: Any, storage: Any) -> dict[str, Channel]:
        """Queue each run's events; the channels known to this invocation by key."""
        flows = {flow.id: flow for flow in session.flows}
        known = {c.key: c for c in self.channels}
        listening = bool(self.config.hook.flowrun_notify.get_hookimpls())
        for run in session.runs:
            flow = flows.get(run.flow_id)
            channels = [*self.channels, *(flow_channels(flow) if flow else [])]
            known.update((c.key, c) for c in channels)
            if not (channels or listening):
                continue  # nobody to tell: no query, no payload
            for event in run_events(run, storage):
                if listening or wanted(channels, event, flow):
                    self._send_event(event, run, storage, channels, flow)
        if self.slots_before:
            self._queue_missed(session, storage, known)
        return known

    def _queue_missed(self, session: Any, storage: Any, known: dict[str, Channel]) -> int:
        """A message for each cron slot first found missed; how many were found."""
        from flowrun.notify.missed import newly_missed
        from flowrun.notify.payload import missed_payload

        found = 0
        for flow, slot, late in newly_missed(session, storage, self.slots_before,
                                              self.config.ini):
            found += 1
            channels = [*self.channels, *flow_channels(flow)]
            known.update((c.key, c) for c in channels)
            if not (wanted(channels, "missed", flow) or
                    self.config.hook.flowrun_notify.get_hookimpls()):
                continue  # counted by the store (metrics), told to nobody
            payload = missed_payload(flow.id, slot, late, self.config.ini.get("ui_url"))
            queue(self.config, storage, "missed", payload, channels, flow)
        return found

    def _send_event(self, event: str, run: Any, storage: Any, channels: list[Channel],
                    flow: Any) -> None:
        from flowrun.notify.payload import run_payload

        payload = run_payload(event, run, storage, self.config.ini.get("ui_url"))
        queue(self.config, storage, event, payload, channels, flow)


def send_missed(config: Any, session: Any, storage: Any) -> int:
    """``flowrun notify missed``: the slots of the collected flows missed by now (none
    claimed since the newest one ``--due`` claimed), sent; how many were found."""
    from flowrun.notify.missed import newest_slots
    from flowrun.notify.outbox import deliver

    notifier = Notifier(config, project_channels(config))
    notifier.slots_before = newest_slots(storage)
    known = {c.key: c for c in notifier.channels}
    found = notifier._queue_missed(session, storage, known)
    if found and known and _has_outbox(storage):
        notes: list[str] = []
        deliver(storage, known, wait_seconds(config), config.rootdir, notes)
        for note in notes:
            print(f"flowrun: {note}", file=sys.stderr)
    return found


def queue(config: Any, storage: Any, event: str, payload: dict[str, Any],
          channels: list[Channel], flow: Any) -> None:
    """Tell plugins (``flowrun_notify``), then queue a message for each channel that
    wants ``event`` for this flow."""
    try:
        config.hook.flowrun_notify(event=event, payload=payload, config=config)
    except Exception as exc:
        print(f"flowrun: a flowrun_notify hook failed: {type(exc).__name__}: {exc}",
              file=sys.stderr)
    targets = wanted(channels, event, flow)
    if targets and _has_outbox(storage):
        from flowrun.notify.outbox import enqueue

        for channel in targets:
            enqueue(storage, channel, payload, time.time())


def wanted(channels: list[Channel], event: str, flow: Any) -> list[Channel]:
    """The channels that want ``event`` of this flow (its ``on`` and ``flows``)."""
    if not channels:
        return []
    tags = flow_tags(flow)
    return [c for c in channels if c.wants(event, tags)]


def run_events(run: Any, storage: Any) -> list[str]:
    """The events of a finished run: its status, and ``recovered`` when it succeeded
    after the flow's (partition's) previous run failed."""
    if run.status in NOT_OK:
        return [run.status]
    if run.status != "succeeded":
        return []
    for before in storage.list_runs(flow=run.flow_id, limit=20):
        if before.id != run.id and before.started <= run.started and \
                before.partition == run.partition:
            return ["succeeded", "recovered"] if before.status in NOT_OK else ["succeeded"]
    return ["succeeded"]


def flow_tags(flow: Any) -> Any:
    """``name -> bool``: the -m matcher of a flow's tags and its tasks' tags."""
    tags = set(getattr(flow, "tags", ()) or ())
    for task in getattr(flow, "tasks", {}).values():
        tags.update(getattr(task.options, "tags", ()) or ())
    return tags.__contains__


def _has_outbox(storage: Any) -> bool:
    from flowrun.plugin.storage import OutboxStore

    if isinstance(storage, OutboxStore):
        return True
    print(f"flowrun: the store {storage.url} keeps no notifications' outbox: nothing is "
          "sent", file=sys.stderr)
    return False
