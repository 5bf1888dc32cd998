"""Messages go through the store's outbox: added once (a unique key per channel, event
and run or slot), rate limited per channel, flow and event, sent after the run's state
is stored, retried with a backoff capped at 60 s; what is left is sent by a later
``flowrun``. A channel that fails never changes a run's status or the exit code."""
from __future__ import annotations

import json
import math
import subprocess
import time
from typing import Any

from flowrun.notify.channels import Channel

#: A message is given up (``failed``) after this many tries.
MAX_TRIES = 10
#: A ``command`` channel gets this many seconds to read the payload and exit.
COMMAND_TIMEOUT = 30.0
#: Seconds a message taken for a try stays with its taker (then, had it died, it is
#: due again).
LEASE = 120.0


def backoff(tries: int) -> float:
    """Seconds before the next try after ``tries`` failed ones: 1, 2, 4 ... 60."""
    return float(min(60, 2 ** max(0, tries - 1)))


def enqueue(storage: Any, channel: Channel, payload: dict[str, Any], now: float) -> str:
    """Put one message in the outbox; ``pending``, ``suppressed`` (``min_interval``)
    or ``duplicate`` (this event of this run or slot was queued before)."""
    event, flow = payload["event"], payload["flow"]
    subject = payload["run_id"] or f"{flow}@{payload['scheduled_for']}"
    status = "pending"
    if channel.min_interval:
        last = storage.outbox_last(channel.key, flow, event)
        if last is not None and now - last < channel.min_interval:
            status = "suppressed"
    added = storage.outbox_add({
        "key": f"{channel.key}|{event}|{subject}", "channel": channel.key,
        "label": channel.label(), "event": event, "flow": flow,
        "run_id": payload["run_id"], "payload": json.dumps(payload), "created": now,
        "status": status, "next_try": now})
    return status if added else "duplicate"


def deliver(storage: Any, channels: dict[str, Channel], wait: float, cwd: str,
            notes: list[str]) -> None:
    """Send every due message of a known channel; retry failures while their next try
    falls within ``wait`` seconds; leave the rest for a later invocation."""
    deadline = time.monotonic() + wait
    while True:
        now = time.time()
        for message in storage.outbox_due(now, limit=1000):
            if message["channel"] in channels:
                _try(storage, channels[message["channel"]], message, cwd, notes)
        waiting = [m["next_try"] for m in storage.outbox_due(math.inf, limit=1000)
                   if m["channel"] in channels]
        if not waiting:
            return
        pause = min(waiting) - time.time()
        if time.monotonic() + pause > deadline:
            notes.append(f"{len(waiting)} notification(s) not sent yet: kept in the "
                         "store's outbox, the next flowrun sends them")
            return
        time.sleep(max(0.0, pause))


def _try(storage: Any, channel: Channel, message: dict[str, Any], cwd: str,
         notes: list[str]) -> None:
    if not storage.outbox_claim(message["id"], time.time(), LEASE):
        return  # another flowrun is sending it
    error = send(channel, json.loads(message["payload"]), cwd)
    now = time.time()
    if error is None:
        storage.outbox_update(message["id"], "sent", None, None, now)
        return
    tries = message["tries"] + 1
    give_up = tries >= MAX_TRIES
    storage.outbox_update(message["id"], "failed" if give_up else "pending",
                          None if give_up else now + backoff(tries), error, now)
    if give_up or tries == 1:
        notes.append(f"notification to {message['label']} failed: {error}"
                     + (" (given up)" if give_up else " (will retry)"))


def send(channel: Channel, payload: dict[str, Any], cwd: str) -> str | None:
    """Deliver one payload; None if it went, else why not (one line)."""
    try:
        return _command(channel.command, payload, cwd) if channel.command else \
            _apprise(channel.to or "", payload)
    except Exception as exc:  # a channel's failure is reported, never raised
        return f"{type(exc).__name__}: {exc}"


def _command(argv: tuple[str, ...], payload: dict[str, Any], cwd: str) -> str | None:
    try:
        done = subprocess.run(list(argv), input=json.dumps(payload), text=True, cwd=cwd,
                              capture_output=True, timeout=COMMAND_TIMEOUT)
    except FileNotFoundError:
        return f"{argv[0]}: no such program"
    except subprocess.TimeoutExpired:
        return f"{argv[0]} did not exit within {COMMAND_TIMEOUT:.0f}s"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [""])[-1]
        return f"{argv[0]} exited with {done.returncode}" + (f": {last}" if last else "")
    return None


def _apprise(url: str, payload: dict[str, Any]) -> str | None:
    import logging

    from flowrun.notify.channels import load_apprise

    apprise = load_apprise()
    notifier = apprise.Apprise()
    if not notifier.add(url):
        return "Apprise cannot send to this URL"
    with apprise.LogCapture(level=logging.WARNING) as log:
        ok = notifier.notify(body=payload["message"], title=payload["title"])
    if ok:
        return None
    lines = [line.strip() for line in log.getvalue().splitlines() if line.strip()]
    return lines[-1] if lines else "Apprise reported a failure"
