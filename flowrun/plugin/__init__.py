"""The public API for plugins: the one flowrun module a plugin imports.

Executors, stores, reporters, collectors and schedulers (the built-in ones included)
are written against these names only, so a third party can replace any of them. Each
name is documented where it is defined: the foundation (errors, hooks, model, stash)
loads with this package; its own modules (``executor``, ``attempt``, ``capture``,
``children``, ``wire``, ``shipping``, ``storage``, ``private``, ``results``, ``source``)
and the config load on first use. Those modules stand only on the foundation and on
each other, never on the engine, the session, the command line or a plugin: the API
is a floor.

    from flowrun.plugin import hookimpl, Executor, Outcome, run_attempt

    @hookimpl
    def flowrun_make_executor(name, config):
        return MyExecutor() if name == "mine" else None
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flowrun import __version__
from flowrun.errors import (
    ChildTaskError,
    CollectError,
    ConfigError,
    CycleError,
    ExecutorError,
    ExitCode,
    FlowrunError,
    PluginError,
    Skipped,
    StoreError,
    UsageError,
    redact_url,
)
from flowrun.hashing import blake2b
from flowrun.hookspecs import PROJECT, hookimpl, hookspec
from flowrun.model import (
    CACHED,
    CANCELLED,
    FAILED,
    FINAL_STATUSES,
    HAS_RESULT,
    INTERRUPTED,
    OK_STATUSES,
    OVERRIDABLE_OPTIONS,
    PENDING,
    RUN_STATUSES,
    RUNNING,
    SKIPPED,
    SUCCEEDED,
    TASK_STATUSES,
    Flow,
    Report,
    Run,
    RunRequest,
    Status,
    Task,
    TaskDef,
    TaskOptions,
    record_task_defs,
    slot_text,
    split_node_id,
    task_id,
)
from flowrun.stash import (
    CALL_PREPARERS,
    COLLECT,
    COMPACT_REPORT,
    HOLD_HEADER,
    REQUEST_MODE,
    RESULT_FILES,
    Stash,
    StashKey,
    claim_request_mode,
)

if TYPE_CHECKING:  # loaded on first use (_LAZY), so a plugin pays only for what it uses
    from flowrun.model_dicts import RUN_RECORD_VERSION, run_record
    from flowrun.config import Config, OptionParser, check_output_path
    from flowrun.plugin.attempt import (
        Call,
        Outcome,
        failed_outcome,
        format_user_error,
        run_attempt,
    )
    from flowrun.plugin.capture import Captured
    from flowrun.plugin.capture import abandon as abandon_capture
    from flowrun.plugin.capture import so_far as capture_so_far
    from flowrun.plugin.capture import ensure_installed as ensure_capture
    from flowrun.plugin.children import ChildRequests, RemoteSpawner
    from flowrun.plugin.executor import Done, Executor
    from flowrun.schemas import tag as schema_tag
    from flowrun.plugin.wire import (
        Packer,
        load_function,
        read_frame,
        run_packed_call,
        write_frame,
    )
    from flowrun.plugin.results import ResultFile, write_result_file
    from flowrun.plugin.results import dumps as dump_result
    from flowrun.plugin.results import loads as load_result
    from flowrun.plugin.source import task_source_hash
    from flowrun.plugin.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
    from flowrun.plugin.metrics import bucket_histograms, count_running, render_metrics
    from flowrun.plugin.storage import (
        FingerprintStore,
        LeaseStore,
        LimitStore,
        LiveStore,
        LogHit,
        LogSearchStore,
        MetricsStore,
        OutboxStore,
        PauseStore,
        QuickFingerprintStore,
        search_logs,
        SlotStore,
        StateLockStore,
        Storage,
        TraceStore,
        open_storage,
    )

#: name -> (module, attribute) of the parts loaded on first use: the executor side
#: (attempt, capture, results, the wire helpers with cloudpickle), the config and the
#: storage interface; ``flowrun history`` or a plugin adding a command needs none of them.
_LAZY: dict[str, tuple[str, str]] = {
    **{name: ("flowrun.config", name) for name in ("Config", "OptionParser",
                                                    "check_output_path")},
    **{name: ("flowrun.plugin.attempt", name) for name in (
        "Call", "Outcome", "failed_outcome", "format_user_error", "run_attempt")},
    "ensure_capture": ("flowrun.plugin.capture", "ensure_installed"),
    "Captured": ("flowrun.plugin.capture", "Captured"),
    "abandon_capture": ("flowrun.plugin.capture", "abandon"),
    "capture_so_far": ("flowrun.plugin.capture", "so_far"),
    "Done": ("flowrun.plugin.executor", "Done"),
    "Executor": ("flowrun.plugin.executor", "Executor"),
    **{name: ("flowrun.plugin.wire", name) for name in (
        "Packer", "run_packed_call", "load_function", "read_frame", "write_frame")},
    **{name: ("flowrun.plugin.children", name) for name in (
        "RemoteSpawner", "ChildRequests")},
    "ResultFile": ("flowrun.plugin.results", "ResultFile"),
    "write_result_file": ("flowrun.plugin.results", "write_result_file"),
    "dump_result": ("flowrun.plugin.results", "dumps"),
    "load_result": ("flowrun.plugin.results", "loads"),
    "task_source_hash": ("flowrun.plugin.source", "task_source_hash"),
    "schema_tag": ("flowrun.schemas", "tag"),
    "run_record": ("flowrun.model_dicts", "run_record"),
    "RUN_RECORD_VERSION": ("flowrun.model_dicts", "RUN_RECORD_VERSION"),
    **{name: ("flowrun.plugin.storage", name) for name in (
        "Storage", "SlotStore", "LiveStore", "StateLockStore", "FingerprintStore",
        "QuickFingerprintStore", "OutboxStore", "MetricsStore", "TraceStore",
        "LogSearchStore", "LogHit", "search_logs", "PauseStore", "LeaseStore",
        "LimitStore", "open_storage")},
    **{name: ("flowrun.plugin.metrics", name) for name in (
        "render_metrics", "bucket_histograms", "count_running")},
    "METRICS_CONTENT_TYPE": ("flowrun.plugin.metrics", "CONTENT_TYPE"),
}

__all__ = [
    "check_output_path",
    "__version__",
    "blake2b",
    # hooks
    "PROJECT", "hookimpl", "hookspec",
    # configuration and shared state
    "Config", "OptionParser", "Stash", "StashKey", "REQUEST_MODE", "HOLD_HEADER",
    "COMPACT_REPORT", "RESULT_FILES", "COLLECT", "CALL_PREPARERS", "claim_request_mode",
    # errors
    "FlowrunError", "UsageError", "ConfigError", "PluginError", "CollectError",
    "CycleError", "StoreError", "ExecutorError", "Skipped", "ExitCode", "ChildTaskError",
    "redact_url",
    # the model
    "Flow", "Task", "TaskDef", "TaskOptions", "OVERRIDABLE_OPTIONS", "record_task_defs",
    "task_source_hash", "run_record", "RUN_RECORD_VERSION", "Report", "Run", "RunRequest", "Status", "task_id",
    "split_node_id", "slot_text", "PENDING", "RUNNING", "SUCCEEDED", "FAILED", "SKIPPED", "CACHED",
    "CANCELLED", "INTERRUPTED", "TASK_STATUSES", "RUN_STATUSES", "FINAL_STATUSES",
    "OK_STATUSES", "HAS_RESULT",
    # executors
    "Executor", "Done", "Call", "Outcome", "run_attempt", "failed_outcome",
    "format_user_error", "ensure_capture", "Captured", "abandon_capture", "capture_so_far", "dump_result",
    "load_result", "ResultFile", "write_result_file", "schema_tag",
    "Packer", "run_packed_call", "load_function", "read_frame", "write_frame",
    "RemoteSpawner", "ChildRequests",
    # storage
    "Storage", "SlotStore", "LiveStore", "StateLockStore", "FingerprintStore",
    "QuickFingerprintStore", "OutboxStore", "MetricsStore", "TraceStore", "LogSearchStore",
    "LogHit", "search_logs", "PauseStore", "LeaseStore", "LimitStore", "open_storage",
    # alerts
    "render_metrics", "METRICS_CONTENT_TYPE", "bucket_histograms", "count_running",
]


def __getattr__(name: str) -> Any:
    part = _LAZY.get(name)
    if part is None:
        raise AttributeError(f"module 'flowrun.plugin' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(part[0]), part[1])
    globals()[name] = value
    return value
