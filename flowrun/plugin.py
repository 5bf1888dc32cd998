"""The public API for plugins: the one flowrun module a plugin imports.

Executors, stores, reporters, collectors and schedulers (the built-in ones included)
are written against these names only, so a third party can replace any of them. Each
name is documented where it is defined; this module only gathers them, as the
``pytest`` package gathers ``_pytest``. The wire helpers (cloudpickle) load on first use.

    from flowrun.plugin import hookimpl, Executor, Outcome, run_attempt

    @hookimpl
    def flowrun_make_executor(name, config):
        return MyExecutor() if name == "mine" else None
"""
from __future__ import annotations

from typing import Any

from flowrun import __version__
from flowrun.config import Config, OptionParser, check_output_path
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
)
from flowrun.executors.attempt import (
    Call,
    Outcome,
    failed_outcome,
    format_user_error,
    run_attempt,
)
from flowrun.executors.capture import ensure_installed as ensure_capture
from flowrun.executors.interface import Done, Executor
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
    RUN_RECORD_VERSION,
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
    run_record,
    split_node_id,
    task_id,
)
from flowrun.results import ResultFile, write_result_file
from flowrun.results import dumps as dump_result
from flowrun.results import loads as load_result
from flowrun.source import task_source_hash
from flowrun.stash import (
    COMPACT_REPORT,
    HOLD_HEADER,
    REQUEST_MODE,
    RESULT_FILES,
    Stash,
    StashKey,
    claim_request_mode,
)
from flowrun.storage.interface import LiveStore, SlotStore, StateLockStore, Storage

#: Wire helpers for remote workers, loaded on first use (they import cloudpickle).
_WIRE = {"Packer": "flowrun.executors.wire", "run_packed_call": "flowrun.executors.wire",
         "load_function": "flowrun.executors.wire",
         "read_frame": "flowrun.executors.wire", "write_frame": "flowrun.executors.wire",
         "RemoteSpawner": "flowrun.executors.children",
         "ChildRequests": "flowrun.executors.children"}

__all__ = [
    "check_output_path",
    "__version__",
    # hooks
    "PROJECT", "hookimpl", "hookspec",
    # configuration and shared state
    "Config", "OptionParser", "Stash", "StashKey", "REQUEST_MODE", "HOLD_HEADER",
    "COMPACT_REPORT", "RESULT_FILES", "claim_request_mode",
    # errors
    "FlowrunError", "UsageError", "ConfigError", "PluginError", "CollectError",
    "CycleError", "StoreError", "ExecutorError", "Skipped", "ExitCode", "ChildTaskError",
    # the model
    "Flow", "Task", "TaskDef", "TaskOptions", "OVERRIDABLE_OPTIONS", "record_task_defs",
    "task_source_hash", "run_record", "RUN_RECORD_VERSION", "Report", "Run", "RunRequest", "Status", "task_id",
    "split_node_id", "PENDING", "RUNNING", "SUCCEEDED", "FAILED", "SKIPPED", "CACHED",
    "CANCELLED", "INTERRUPTED", "TASK_STATUSES", "RUN_STATUSES", "FINAL_STATUSES",
    "OK_STATUSES", "HAS_RESULT",
    # executors
    "Executor", "Done", "Call", "Outcome", "run_attempt", "failed_outcome",
    "format_user_error", "ensure_capture", "dump_result", "load_result", "ResultFile",
    "write_result_file",
    *_WIRE,
    # storage
    "Storage", "SlotStore", "LiveStore", "StateLockStore",
]


def __getattr__(name: str) -> Any:
    module = _WIRE.get(name)
    if module is None:
        raise AttributeError(f"module 'flowrun.plugin' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
