"""[plugin] ``flowrun --due`` (the cron entry point), ``--partition KEY`` and
``--backfill START..END [--only missing|failed]``: the selected flows become runs of
their due cron slots or of their partitions, through ``flowrun_make_requests``.

``--due``, per scheduled flow: a cheap read finds whether any slot is due since the
newest slot in the store; only then the flow's lock is taken (another process holding
it is running the flow: skip it), the slots are read again, the catch-up and overlap
policies applied, and the slots claimed with ``INSERT OR IGNORE`` in ``BEGIN
IMMEDIATE``. The lock is held until the flow's runs finish, and dies with the process.
"""
from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from flowrun.plugin import (
    HOLD_HEADER,
    PauseStore,
    RunRequest,
    SlotStore,
    UsageError,
    claim_request_mode,
    hookimpl,
    redact_url,
)

if TYPE_CHECKING:
    from flowrun.schedules import cron as schedule

#: The cron module loads only where schedules are read (``--due``, partitions): this
#: plugin's hooks run with every command.
ONLY = ("missing", "failed")
NOT_OK = ("failed", "interrupted")


def now() -> float:
    """``FLOWRUN_NOW`` (tests: slots, catch-up, DST, backfill without waiting) or the
    real time."""
    text = os.environ.get("FLOWRUN_NOW")
    if not text:
        return time.time()
    from flowrun.schedules import cron as schedule

    try:
        return schedule.parse_now(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


@hookimpl
def flowrun_addoption(parser: Any) -> None:
    parser.addoption("--due", "due", is_flag=True, default=None,
                     help="Run only the scheduled flows that are due (the cron entry "
                     "point); nothing due: no output, exit 0.")
    parser.addoption("--partition", "partition", metavar="KEY",
                     help="Run the selected partitioned flows for partition KEY.")
    parser.addoption("--backfill", "backfill", metavar="START..END",
                     help="Run every partition from START to END (either may be left "
                     "out: the first one, the current one).")
    parser.addoption("--only", "only", metavar="missing|failed",
                     help="With --backfill: only partitions never run, or whose last "
                     "run failed.")


@hookimpl
def flowrun_check_flow(flow: Any) -> None:
    if (flow.schedule, flow.timezone, flow.partitions, flow.catchup, flow.overlap) != (
            None, None, None, "latest", "skip"):  # the cron module loads only for these
        from flowrun.schedules import cron as schedule

        schedule.check(flow)  # cron, timezone, catchup, overlap, partitions


@hookimpl
def flowrun_commands() -> dict[str, tuple[str, Any]]:
    where = "flowrun.schedules.commands:"
    return {
        "schedule": ("scheduled flows: expression, last slot, next fire times",
                     where + "make_schedule_command"),
        "cron": ("the crontab line that runs `flowrun --due`", where + "make_cron_command"),
        "partitions": ("status of each partition of a partitioned flow",
                       where + "make_partitions_command"),
    }


@hookimpl
def flowrun_configure(config: Any) -> None:
    modes = [f"--{name}" for name in ("due", "partition", "backfill")
             if config.getoption(name)]
    only = config.getoption("only")
    if only and only not in ONLY:
        raise UsageError(f"--only {only}: expected one of {', '.join(ONLY)}")
    if only and not config.getoption("backfill"):
        raise UsageError("--only goes with --backfill")
    for mode in modes:
        claim_request_mode(config, mode)
    if config.getoption("due") and not config.getoption("collectonly"):
        config.stash[HOLD_HEADER] = True  # cron mails any output: none unless work runs
    if modes and not config.pluginmanager.has_plugin("scheduler"):
        config.pluginmanager.register(Scheduler(config), "scheduler")


def partitions_of(flow: Any) -> schedule.Partitions | None:
    if flow.partitions is None:
        return None
    from flowrun.schedules import cron as schedule

    return schedule.Partitions.parse(flow.partitions, schedule.zone(flow.timezone))


def partition_statuses(storage: Any, flow_id: str) -> dict[str, Any]:
    """Partition key -> the newest run of that partition."""
    newest: dict[str, Any] = {}
    for run in storage.list_runs(flow=flow_id):
        if run.partition is not None:
            newest.setdefault(run.partition, run)
    return newest


class Scheduler:
    """Registered by ``flowrun_configure`` only under --due / --partition / --backfill."""

    def __init__(self, config: Any) -> None:
        self.config = config
        self.now = now()
        self.storage: Any = None
        #: (flow id, slot) -> [runs it made, statuses of those finished]
        self.open: dict[tuple[str, float], tuple[int, list[str]]] = {}

    @hookimpl
    def flowrun_make_requests(self, session: Any, params: dict[str, dict[str, Any]]
                              ) -> list[RunRequest]:
        self.storage = session.storage
        if self.config.getoption("due"):
            return self._due(session, params)
        if self.config.getoption("backfill"):
            return self._backfill(session, params)
        return self._partition(session, params)

    # -- --due ------------------------------------------------------------------------

    def _due(self, session: Any, params: dict[str, dict[str, Any]]) -> list[RunRequest]:
        storage = self.storage
        if not isinstance(storage, SlotStore):
            raise UsageError(f"--due needs a store that keeps cron slots and flow locks; "
                             f"{redact_url(storage.url)} does not (see flowrun.plugin.SlotStore)")
        from flowrun.schedules import cron as schedule

        last = storage.last_slots()
        paused = storage.paused_flows() if isinstance(storage, PauseStore) else {}
        requests: list[RunRequest] = []
        for flow in session.flows:
            if flow.schedule is None or flow.id in paused:
                continue
            cron = schedule.Schedule(flow.schedule, schedule.zone(flow.timezone))
            row = last.get(flow.id)
            run, skip = schedule.due(cron, flow.catchup, row and row[0], self.now)
            if not (run or skip):
                continue  # the common case: one query for all flows, no lock
            if not storage.lock_flow(flow.id):
                if run:
                    storage.note_busy(flow.id, max(run))
                continue
            for slot in self._claim(session, flow, cron):
                requests += self._slot_requests(flow, slot, params[flow.id])
            if not any(f == flow.id for f, _ in self.open):
                storage.unlock_flow(flow.id)
        return requests

    def _claim(self, session: Any, flow: Any, cron: schedule.Schedule) -> list[float]:
        """Under the flow's lock: the slots to run now, claimed in the store."""
        from flowrun.schedules import cron as schedule

        row = self.storage.last_slots(flow.id).get(flow.id)
        run, skip = schedule.due(cron, flow.catchup, row and row[0], self.now)
        if flow.overlap == "skip" and row:
            run, busy = schedule.split_busy(run, row[2])
            skip = [*skip, *busy]
            for slot in busy:
                session.notes.append(f"{flow.id}: slot {_iso(slot, cron)} skipped: it "
                                     "came due while the previous run was running")
        return self.storage.claim_slots(flow.id, run, skip, self.now)

    def _slot_requests(self, flow: Any, slot: float, params: dict[str, Any]
                       ) -> list[RunRequest]:
        parts = partitions_of(flow)
        keys: list[str | None] = parts.keys_for(parts.time_key(slot)) if parts else [None]
        self.open[(flow.id, slot)] = (len(keys), [])
        # one queue per partition category: a flow's slots run in order, never at once
        return [RunRequest(flow, dict(params), partition=key, scheduled_for=slot,
                           queue=f"{flow.id}#{i}") for i, key in enumerate(keys)]

    @hookimpl
    def flowrun_run_finish(self, run: Any) -> None:
        key = (run.flow_id, run.scheduled_for)
        if key not in self.open:
            return
        expected, statuses = self.open[key]
        statuses.append(run.status)
        if len(statuses) < expected:
            return
        del self.open[key]
        worst = next((s for s in statuses if s in NOT_OK), statuses[0])
        self.storage.finish_slot(run.flow_id, run.scheduled_for, worst, now())
        if not any(f == run.flow_id for f, _ in self.open):
            self.storage.unlock_flow(run.flow_id)

    # -- --partition / --backfill -----------------------------------------------------

    def _partitioned(self, session: Any, option: str) -> list[tuple[Any, Any]]:
        found = [(flow, partitions_of(flow)) for flow in session.flows
                 if flow.partitions is not None]
        if not found:
            raise UsageError(f"{option}: none of the selected flows has partitions "
                             "(Flow(partitions=...))")
        return found

    def _partition(self, session: Any, params: dict[str, dict[str, Any]]
                   ) -> list[RunRequest]:
        key = str(self.config.getoption("partition"))
        requests = []
        for flow, parts in self._partitioned(session, "--partition"):
            try:
                checked = parts.check_key(key)
            except ValueError as exc:
                raise UsageError(f"--partition {key}: {flow.id}: {exc}") from None
            requests.append(RunRequest(flow, dict(params[flow.id]), partition=checked))
        return requests

    def _backfill(self, session: Any, params: dict[str, dict[str, Any]]
                  ) -> list[RunRequest]:
        spec, only = str(self.config.getoption("backfill")), self.config.getoption("only")
        requests = []
        for flow, parts in self._partitioned(session, "--backfill"):
            try:
                keys = parts.backfill_keys(spec, self.now)
            except ValueError as exc:
                raise UsageError(f"--backfill {spec}: {flow.id}: {exc}") from None
            if only:
                keys = _only(keys, partition_statuses(self.storage, flow.id), only)
            session.notes.append(f"{flow.id}: backfilling {len(keys)} partition"
                                 f"{'s' * (len(keys) != 1)}" + (f" ({only})" if only else ""))
            requests += [RunRequest(flow, dict(params[flow.id]), partition=k) for k in keys]
        return requests


def _only(keys: list[str], newest: dict[str, Any], only: str) -> list[str]:
    if only == "missing":
        return [k for k in keys if k not in newest]
    return [k for k in keys if k in newest and newest[k].status in NOT_OK]


def _iso(slot: float, cron: schedule.Schedule) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(slot, cron.tz).isoformat(timespec="minutes")
