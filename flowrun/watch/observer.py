"""``flowrun --watch``: run, then rerun the flows each saved change affects.

The watcher never imports user code. A watchdog observer reports changes; a trailing
debounce turns an editor's save (temp file, rename, chmod) into one change; the import
graph (``flowrun.watch.imports``) says which flow files the changed paths reach; each cycle
runs in a fresh ``flowrun`` process, so no module is ever stale. To start fast, that
process is a spare started ahead (``flowrun.watch.spare``) with flowrun already
imported, waiting for its command line; a new spare starts once the cycle is over.
"""
from __future__ import annotations

import fnmatch
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

import click

from flowrun.config import find_rootdir
from flowrun.errors import ExitCode, FlowrunError
from flowrun.model import split_node_id
from flowrun.session import SKIP_DIRS, find_files, skip_dir
from flowrun.watch.imports import ImportGraph

#: Seconds without events that end a change (a save is several events in a few ms).
DEBOUNCE = 0.08
#: Files whose change reruns every flow.
CONFIG_FILES = ("pyproject.toml", "flowrun.toml")
EVENT_TYPES = ("modified", "created", "deleted", "moved", "closed")


def watch(config: Any, args: list[str], argv: list[str]) -> int:
    """Run ``argv`` (the command line without ``--watch``) now and after every change."""
    return Watcher(config, args, argv).run()


class Watcher:
    def __init__(self, config: Any, args: list[str], argv: list[str]) -> None:
        self.config = config
        self.rootdir = os.path.abspath(config.rootdir)
        self.roots = [os.path.abspath(split_node_id(a)[0]) for a in args]
        self.argv = argv
        self.graph = ImportGraph(self.rootdir)
        self.changes: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.known: dict[str, dict[str, Any]] = {}  # flow id -> its last cycle's report
        #: declared writes as the last cycle left them: path -> (size, mtime_ns, inode)
        self.written: dict[str, tuple[int, int, int]] = {}
        self.scratch = tempfile.mkdtemp(prefix="flowrun-watch-")
        self.spare: subprocess.Popen | None = None
        self.cycles = 0

    def run(self) -> int:
        from watchdog.observers import Observer

        observer = Observer()
        self.observer = observer
        try:
            self._watch_folder(self.rootdir, recursive=False)
            for name in sorted(os.listdir(self.rootdir)):
                self._watch_subfolder(os.path.join(self.rootdir, name))
            observer.start()
        except OSError as exc:  # e.g. the inotify watch limit
            raise FlowrunError(f"cannot watch {self.rootdir}: {exc}") from None
        self.spare = _start_spare()
        code = ExitCode.OK
        try:
            code = self._cycle(None, "first run")
            if code in (ExitCode.USAGE_ERROR, ExitCode.INTERNAL_ERROR):
                return code
            while True:
                self._announce_waiting()
                changed = self._next_change()
                code = self._on_change(changed)
        except _Interrupted as stop:
            return stop.code
        except KeyboardInterrupt:
            click.echo("\nwatch ended")
            return ExitCode.OK
        finally:
            observer.stop()
            if self.spare is not None:
                self.spare.kill()
                self.spare.wait()
            _remove_tree(self.scratch)

    # -- the observer ---------------------------------------------------------------------

    def _watch_folder(self, path: str, recursive: bool) -> None:
        from watchdog.events import FileSystemEventHandler

        changes = self.changes
        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                if event.event_type not in EVENT_TYPES:
                    return  # opened / closed-without-writing: a cycle reading files
                for raw in (event.src_path, getattr(event, "dest_path", "")):
                    path = os.fsdecode(raw) if raw else ""
                    if path and event.is_directory and event.event_type in ("created", "moved"):
                        watcher._new_folder(path)
                    elif path and watcher._relevant(path):
                        changes.put(path)

        self.observer.schedule(Handler(), path, recursive=recursive)

    def _watch_subfolder(self, path: str) -> None:
        """A top-level folder, watched recursively unless it is a tool's or an
        environment's (``.git``, ``.venv``, ``.flowrun``, ``node_modules`` ...)."""
        if os.path.isdir(path) and not skip_dir(self.rootdir, os.path.basename(path)):
            self._watch_folder(path, recursive=True)

    def _new_folder(self, path: str) -> None:
        """A folder appeared (mkdir, a checkout): its files are new too."""
        if os.path.dirname(path) == self.rootdir:
            self._watch_subfolder(path)
        if self._ignored(path):
            return
        for found in find_files([path]):
            if self._relevant(found):
                self.changes.put(found)

    def _ignored(self, path: str) -> bool:
        rel = os.path.relpath(path, self.rootdir)
        parts = rel.split(os.sep)
        if rel.startswith("..") or any(p.startswith(".") or p in SKIP_DIRS for p in parts):
            return True
        rel = rel.replace(os.sep, "/")
        return any(fnmatch.fnmatch(rel, pattern) for pattern in self.config.watch_ignore)

    def _relevant(self, path: str) -> bool:
        name = os.path.basename(path)
        if self._ignored(path):
            return False
        return name.endswith(".py") or self._is_config(path) or \
            any(fnmatch.fnmatch(name, p) for p in self.config.spec_files) or \
            bool(self._data_readers(path))

    def _data_readers(self, path: str) -> list[str]:
        """The flows that declare ``path`` in their reads, unless the run's own tasks
        wrote it as it is now: those writes never trigger a cycle, a change from outside
        does."""
        from flowrun.watch.cycle import reads_any

        rel = self._rel(path)
        known = list(self.known.items())
        if os.path.isdir(path) or not known or self._run_wrote(path):
            return []
        return [fid for fid, entry in known if reads_any(entry.get("reads", ()), [rel])]

    def _run_wrote(self, path: str) -> bool:
        """Is ``path`` a declared write just as the last cycle left it?"""
        before = self.written.get(self._rel(path))
        return before is not None and before == _signature(path)

    def _note_writes(self) -> None:
        """After a cycle: the signature of every file a flow declares it writes."""
        import glob

        written = {}
        for entry in list(self.known.values()):
            for shape in entry.get("writes", ()):
                for found in glob.glob(os.path.join(self.rootdir, shape), recursive=True):
                    for path in find_files([found]):
                        written[self._rel(path)] = _signature(path)
        self.written = written

    def _is_config(self, path: str) -> bool:
        name = os.path.basename(path)
        return name == "flowconf.py" or (
            name in CONFIG_FILES and os.path.dirname(path) == self.rootdir)

    def _next_change(self) -> set[str]:
        """The paths of one change: events until ``DEBOUNCE`` seconds pass quietly."""
        while True:
            changed = {self.changes.get()}
            while True:
                try:
                    changed.add(self.changes.get(timeout=DEBOUNCE))
                except queue.Empty:
                    break
            changed = {p for p in changed if not self._run_wrote(p)}  # seen mid-cycle
            if changed:
                return changed

    # -- cycles ---------------------------------------------------------------------------

    def flow_files(self) -> list[str]:
        roots = self.roots or [p for p in self.config.flowpaths if os.path.exists(p)]
        patterns = [*self.config.python_files, *self.config.spec_files]
        return [f for f in find_files(roots)
                if any(fnmatch.fnmatch(os.path.basename(f), p) for p in patterns)]

    def _on_change(self, changed: set[str]) -> int:
        names = ", ".join(sorted(self._rel(p) for p in changed))
        if any(self._is_config(p) for p in changed):
            _, _, self.config.ini = find_rootdir(self.rootdir)
            return self._cycle(None, f"changed: {names} (configuration: every flow reruns)")
        data = {p for p in changed if not p.endswith(".py") and self._data_readers(p)}
        changed -= {p for p in changed if os.path.isdir(p)}
        if data and data == changed:
            return self._data_cycle(data, names)
        flows = self.flow_files()
        gone = sorted(self._rel(p) for p in changed if p not in flows
                      and self._rel(p) in self.known and not os.path.exists(p))
        for flow_id in gone:
            del self.known[flow_id]
        affected = self.graph.affected(flows, changed)
        summary = f"changed: {names}"
        if gone:
            summary += f"; removed: {', '.join(gone)}"
        if not affected:
            click.echo(_rule(f"{summary} -> no flow affected", bold=False))
            return ExitCode.OK
        previous = {}
        for path in affected:  # only its own file changed: unchanged tasks may be reused
            before = self.known.get(self._rel(path))
            if before and before.get("run") and before.get("module") and \
                    changed & self.graph.reach(path) == {path}:
                previous[self._rel(path)] = before
        return self._cycle(affected, summary, previous)

    def _data_cycle(self, data: set[str], names: str) -> int:
        """Only data files changed: rerun the flows that read them, where the tasks that
        read them run and the rest reuse the last cycle's results."""
        rels = sorted(self._rel(p) for p in data)
        flows, previous = [], {}
        for flow_id in sorted({f for p in data for f in self._data_readers(p)}):
            before = self.known[flow_id]
            flows.append(before.get("path") or os.path.join(self.rootdir, flow_id))
            if before.get("run"):
                previous[flow_id] = {**before, "data": rels}
        return self._cycle(flows, f"changed: {names} (data)", previous)

    def _cycle(self, files: list[str] | None, summary: str,
               previous: dict[str, Any] | None = None) -> int:
        """Hand one cycle to the spare process, wait for it, start the next spare."""
        self.cycles += 1
        if files is not None:
            summary += f" -> rerunning {', '.join(self._rel(f) for f in files)}"
        click.echo(_rule(f"[{time.strftime('%H:%M:%S')}] {summary}", bold=True))
        report = os.path.join(self.scratch, f"cycle-{self.cycles}.json")
        request = {"argv": self.argv, "files": files, "previous": previous or {},
                   "report": report}
        child, self.spare = self.spare or _start_spare(), None
        try:
            assert child.stdin is not None
            child.stdin.write(json.dumps(request) + "\n")
            child.stdin.close()
        except BrokenPipeError:
            pass  # the spare died at start: its wait() below says how
        code = _wait(child)
        self._learn(report)
        self._note_writes()
        self.spare = _start_spare()
        return code

    def _learn(self, report_path: str) -> None:
        try:
            with open(report_path) as fh:
                report = json.load(fh)
        except (OSError, ValueError):
            return  # the cycle died before reporting: the next one runs whole flows
        for flow_id, entry in report["flows"].items():
            self.known[flow_id] = entry
        for flow_id in report["errors"]:  # a broken file: nothing known to reuse
            self.known.pop((flow_id or "").partition("::")[0], None)

    def _announce_waiting(self) -> None:
        click.echo(click.style("watching for changes (Ctrl-C to stop)", dim=True))

    def _rel(self, path: str) -> str:
        """The rootdir-relative path, which for a flow file is its flow id."""
        return os.path.relpath(path, self.rootdir).replace(os.sep, "/")


class _Interrupted(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


def _start_spare() -> subprocess.Popen:
    """A flowrun process with its own modules imported, waiting for a cycle. In its own
    process group: a terminal's Ctrl-C reaches the watcher, which forwards it once."""
    return subprocess.Popen([sys.executable, "-m", "flowrun.watch.spare"],
                            stdin=subprocess.PIPE, text=True, process_group=0)


def _wait(child: subprocess.Popen) -> int:
    """The cycle's exit code. Ctrl-C meanwhile goes to the cycle (a second one makes it
    abandon running tasks, as in any run); then watching ends with the cycle's code."""
    interrupted = False
    while True:
        try:
            code = child.wait()
            break
        except KeyboardInterrupt:
            interrupted = True
            child.send_signal(signal.SIGINT)
    if interrupted:
        raise _Interrupted(code or ExitCode.INTERRUPTED)
    return code


def _signature(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def _rule(text: str, bold: bool) -> str:
    """A cycle's first line: bold when it runs something, dim when not."""
    return click.style(text, bold=bold, fg="cyan" if bold else None, dim=not bold)


def _remove_tree(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
