"""``flowrun notify test [--to URL]``, ``flowrun notify log``, ``flowrun notify missed``
and ``flowrun metrics``."""
from __future__ import annotations

import json
import os
import time
from typing import Any

import click

from flowrun.cli.store_options import json_option, store_option, table, when
from flowrun.errors import StoreError, UsageError


def make_notify_command(factory: Any) -> click.Command:
    @click.group("notify")
    def notify() -> None:
        """Notifications: send a test one, list recent deliveries."""

    @notify.command("test")
    @click.option("--to", "to", metavar="URL", help="Send only to this Apprise URL.")
    @store_option
    def test(to: str | None, store: str | None) -> int:
        """Send a sample notification to every configured channel (or only --to URL);
        exit 1 if one failed."""
        from flowrun.config import open_storage

        config = factory.make({"store": store})
        channels = _test_channels(config, to)
        storage = open_storage(config)
        try:
            return _send_samples(config, storage, channels)
        finally:
            storage.close()

    @notify.command("log")
    @click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
    @store_option
    @json_option
    def log(limit: int, store: str | None, as_json: bool) -> int:
        """Recent notifications, newest first: channel, event, status, tries, error."""
        storage = _outbox(factory, store)
        messages = storage.outbox_log(limit)
        if as_json:
            click.echo(json.dumps([_log_record(m) for m in messages], indent=2))
        elif not messages:
            click.echo("no notifications yet")
        else:
            table([("WHEN", "EVENT", "FLOW", "RUN", "STATUS", "TRIES", "CHANNEL", "ERROR"),
                   *((when(m["created"]), m["event"], m["flow"], m["run_id"] or "-",
                      m["status"], str(m["tries"]), m["label"], m["error"] or "")
                     for m in messages)])
        return 0

    @notify.command("missed")
    @store_option
    def missed(store: str | None) -> int:
        """Send a message for each cron slot not started missed_after past its time
        (what --due notices): for flowrun ui, or a monitor when cron may be down."""
        from flowrun.config import open_storage
        from flowrun.notify.plugin import send_missed
        from flowrun.stash import COLLECT

        config = factory.make({"store": store})
        session = config.stash[COLLECT]([])
        for error in session.errors:
            click.echo(f"ERROR collecting {error.where}: {error}", err=True)
        storage = open_storage(config)
        try:
            found = send_missed(config, session, storage)
        finally:
            storage.close()
        click.echo(f"{found} missed cron slot(s) found")
        return 0

    return notify


def _test_channels(config: Any, to: str | None) -> list[Any]:
    from flowrun.notify.channels import ChannelError, check_urls, parse_channel
    from flowrun.notify.plugin import project_channels

    if to is None:
        channels = project_channels(config, check=True)
        if not channels:
            raise UsageError("no notification channels: add a [[tool.flowrun.notify]] table "
                             "(to = \"json://host/hook\"), or give --to URL")
        return channels
    try:
        channels = [parse_channel({"to": to})]
    except ChannelError as exc:
        raise UsageError(f"--to: {str(exc).removeprefix('to = ')}") from None
    problem = check_urls(channels)
    if problem:
        raise UsageError(f"--to: {problem.removeprefix('to = ')}")
    return channels


def _send_samples(config: Any, storage: Any, channels: list[Any]) -> int:
    """Send the sample to each channel, record each delivery; 1 if one failed."""
    from flowrun.notify.outbox import send
    from flowrun.notify.payload import sample_payload
    from flowrun.plugin.storage import OutboxStore

    payload = sample_payload(config.ini.get("ui_url"))
    config.hook.flowrun_notify(event="test", payload=payload, config=config)
    failed = 0
    for channel in channels:
        error = send(channel, payload, config.rootdir)
        click.echo(f"sent to {channel.label()}" if error is None else
                   f"FAILED {channel.label()}: {error}")
        failed += error is not None
        if isinstance(storage, OutboxStore):
            _record(storage, channel, payload, error)
    return 1 if failed else 0


def _record(storage: Any, channel: Any, payload: dict[str, Any], error: str | None) -> None:
    now = time.time()
    storage.outbox_add({"key": f"{channel.key}|test|{now!r}", "channel": channel.key,
                        "label": channel.label(), "event": "test", "flow": payload["flow"],
                        "run_id": None, "payload": json.dumps(payload), "created": now,
                        "status": "pending", "next_try": None})
    message = storage.outbox_log(1)[0]
    storage.outbox_update(message["id"], "failed" if error else "sent", None, error, now)


def _log_record(message: dict[str, Any]) -> dict[str, Any]:
    from flowrun.schemas import tag

    return {"schema": tag("notify-log"), "id": message["id"], "channel": message["label"],
            "event": message["event"], "flow": message["flow"],
            "run_id": message["run_id"], "status": message["status"],
            "tries": message["tries"], "created": message["created"],
            "last_try": message["last_try"], "next_try": message["next_try"],
            "error": message["error"]}


def _outbox(factory: Any, store: str | None) -> Any:
    from flowrun.cli.store_options import open_store
    from flowrun.plugin.storage import OutboxStore

    storage = open_store(factory, store)
    if not isinstance(storage, OutboxStore):
        raise StoreError(f"the store {storage.url} keeps no notifications")
    return storage


def make_metrics_command(factory: Any) -> click.Command:
    @click.command("metrics")
    @click.option("--output", metavar="PATH", help="Write to PATH (atomically, for "
                  "node_exporter's textfile collector) instead of printing.")
    @store_option
    def metrics(output: str | None, store: str | None) -> int:
        """The store's figures in the Prometheus text format."""
        from flowrun.cli.store_options import open_store
        from flowrun.plugin.metrics import render_metrics

        text = render_metrics(open_store(factory, store))
        if output is None:
            click.echo(text.decode(), nl=False)
            return 0
        partial = f"{output}.{os.getpid()}.tmp"
        try:
            with open(partial, "wb") as handle:
                handle.write(text)
            os.replace(partial, output)
        except OSError as exc:
            raise UsageError(f"--output {output}: {exc.strerror or exc}") from None
        return 0

    return metrics
