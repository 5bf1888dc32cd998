"""The bookkeeping a fingerprint store does in memory, beside its own SQL, shared by
the built-in stores (``FingerprintStore``, ``QuickFingerprintStore``). A row is
``(task_id, partition, fingerprint, run_id, flow_id, result, result_format, result_ref,
recorded, quick)``; the dicts are the store's own, keyed by (flow id, partition):
the rows it read whole (``read``), the quick keys it handed out (``handed``) and how
many rows it read alone (``asked``)."""
from __future__ import annotations

from typing import Iterable

Key = tuple[str, str]

#: Rows of a flow read one by one before the store reads all of them at once: a null
#: run asks only where a quick key failed, a first run for every cached task.
ONE_BY_ONE = 64


def flow_of(task_id: str) -> str:
    return task_id.partition("::")[0]


def flow_range(flow_id: str) -> tuple[str, str]:
    """The task ids of a flow's nodes (``flow::name…``) lie in ``[low, high)``: a range
    the fingerprints' index on task id answers (``;`` is the character after ``:``)."""
    return flow_id + "::", flow_id + ":;"


def of_task(node_id: str, task_id: str) -> bool:
    """Is ``node_id`` the task ``task_id`` or one of its mapped instances?"""
    return node_id == task_id or node_id.startswith(task_id + "[")


def quick_entry(row: tuple) -> tuple:
    """A row's ``quick_fingerprints`` entry: (quick, result, result_format, result_ref,
    recorded)."""
    return row[9], row[5], row[6], row[7], row[8]


def keep_handed_true(handed: dict[Key, dict[str, tuple]], row: tuple) -> None:
    """A row just recorded: the quick keys handed out for its flow say so (a record
    without a key drops the old one)."""
    listed = handed.get((flow_of(row[0]), row[1]))
    if listed is not None:
        listed.pop(row[0], None)
        if row[9] is not None:
            listed[row[0]] = quick_entry(row)


def with_buffered(listed: dict[str, tuple], buffered: dict[Key, tuple], flow_id: str,
                  partition: str) -> dict[str, tuple]:
    """``listed`` (the keys the store read) as the rows not yet written change it."""
    for (task_id, part), row in buffered.items():
        if part == partition and task_id.startswith(flow_id + "::"):
            listed.pop(task_id, None)
            if row[9] is not None:
                listed[task_id] = quick_entry(row)
    return listed


def read_alone(asked: dict[Key, int], read: dict[Key, dict[str, tuple]], task_id: str,
               partition: str) -> bool:
    """Should the store read this row alone (counted) rather than its flow's rows?"""
    key = (flow_of(task_id), partition)
    count = asked.get(key, 0)
    if count >= ONE_BY_ONE or key in read:
        return False
    asked[key] = count + 1
    return True


def read_back(read: dict[Key, dict[str, tuple]], rows: Iterable[tuple]) -> None:
    """Rows just written: the flows read whole hold them without a query."""
    for row in rows:
        rows_of_flow = read.get((flow_of(row[0]), row[1]))
        if rows_of_flow is not None:
            rows_of_flow[row[0]] = row
