"""The SSH executor: attempts run on other hosts, in persistent remote workers
(imported only when a run uses it; the plugin's hooks are ``flowrun.executors.ssh``).

The system OpenSSH client does the connecting, so ``~/.ssh/config``, agents and
``known_hosts`` work as users expect. One master connection per host (ControlMaster,
its socket in a private temp dir) carries every session; each slot of a host is a
long-lived ``ssh HOST python3 -m flowrun.executors.worker`` speaking the worker's frames, so an
attempt costs a round trip, not a login. A remote worker kills its own process group
when told to or when its session closes, so a timeout leaves nothing on the host.
"""
from __future__ import annotations

import os
import secrets
import shlex
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from flowrun.executors import ssh_results
from flowrun.executors.link import Link
from flowrun.executors.pool import Job, LinkPool, Workers
from flowrun.executors.ssh_settings import Settings
from flowrun.plugin import (
    FAILED,
    Call,
    Outcome,
    UsageError,
    __version__,
    failed_outcome,
)

DOWN_FOR = 30.0  # seconds an unreachable host is tried only when no other host is free
SSH_EXIT_ERROR = 255  # what ssh itself exits with when it cannot connect


@dataclass(eq=False)
class Host:
    name: str
    slots: int
    order: int
    socket: str
    busy: int = 0
    workers: Workers = field(default_factory=Workers)
    down_until: float = 0.0
    master_pid: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class HostJob(Job):
    __slots__ = ("hosts",)  # where it may run

    def __init__(self, call: Call, done: Any) -> None:
        super().__init__(call, done)
        self.hosts: list[Host] = []


class SSHExecutor(LinkPool):
    destination = "over ssh"

    def __init__(self, settings: Settings, rootdir: str,
                 result_files: tuple[str, int] | None = None) -> None:
        super().__init__(rootdir)
        self.settings = settings
        self.dir = tempfile.mkdtemp(prefix="flowrun-ssh-")
        #: (the store's result files, threshold); large results stay in each host's
        #: cache and are fetched once into the store (``ssh_results``)
        self.result_files = result_files
        self.cache = ssh_results.cache_dir(secrets.token_hex(6))
        self.hosts: dict[str, Host] = {}
        for name, slots in settings.hosts:
            self._host(name, slots)
        self.default_hosts = [name for name, _ in settings.hosts]
        self.avoid: dict[str, set[str]] = {}  # task id -> hosts an attempt failed on
        with self.lock:  # connect to every host now, while the run starts
            for host in self.hosts.values():
                host.workers.idle.append(self._start_link(host))

    def _host(self, name: str, slots: int | None = None) -> Host:
        if name not in self.hosts:
            order = len(self.hosts)
            self.hosts[name] = Host(name, slots or self.settings.slots, order,
                                    os.path.join(self.dir, str(order)))
        return self.hosts[name]

    def ssh(self, host: Host, *args: str) -> list[str]:
        """The ssh command line for ``host`` through its master connection."""
        base = ["ssh", "-T", "-o", "BatchMode=yes", "-o", f"ControlPath={host.socket}",
                "-o", f"ConnectTimeout={self.settings.connect_timeout}",
                "-o", "ServerAliveInterval=15"]
        if self.settings.config:
            base[1:1] = ["-F", self.settings.config]
        return [*base, *args, host.name]

    # -- the executor interface ---------------------------------------------------------

    def check(self, tasks: list[Any]) -> None:
        """No host for a task, or a host whose name resolves nowhere: one usage line
        now, instead of each task failing (and retrying) on its own."""
        homeless = [t.id for t in tasks if not (t.options.hosts or self.default_hosts)]
        if homeless:
            raise UsageError(f"--executor ssh: no host to run {homeless[0]} on: set "
                             "[tool.flowrun.ssh] hosts = [...], --ssh-host, or "
                             "@task(hosts=[...])")
        for name in sorted({*self.default_hosts, *(h for t in tasks for h in t.options.hosts)}):
            hostname, port = self._resolve(name)
            try:
                socket.getaddrinfo(hostname, port)
            except (OSError, UnicodeError) as exc:
                raise UsageError(f"--executor ssh: host {name!r} ([tool.flowrun.ssh] hosts "
                                 f"or --ssh-host) resolves nowhere: {hostname}: "
                                 f"{getattr(exc, 'strerror', None) or exc}") from None

    def _resolve(self, name: str) -> tuple[str, int]:
        """What ssh makes of an alias (its config's HostName and Port), by ``ssh -G``."""
        argv = ["ssh", *(["-F", self.settings.config] if self.settings.config else []),
                "-G", name]
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            return name, 22
        found = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
        return found.get("hostname", name), int(found.get("port", "22"))

    def new_job(self, call: Call, done: Any) -> HostJob:
        return HostJob(call, done)

    def refuse(self, call: Call) -> str | None:
        if call.hosts or self.default_hosts:
            return None
        return ("no ssh host to run on: set [tool.flowrun.ssh] hosts = [...] "
                "or @task(hosts=[...])")

    def place(self, job: HostJob) -> None:
        job.hosts = [self._host(name) for name in job.call.hosts or self.default_hosts]
        host = self._pick(job)
        if host is None:
            self.queue.append(job)
        else:
            self._assign(job, host)

    def all_links(self) -> list[Link]:
        return [link for host in self.hosts.values() for link in host.workers.links]

    def shutdown(self, wait: bool = True) -> None:
        """Stop every remote worker, then the master connections: nothing stays."""
        self.stop_links(3.0)
        for host in self.hosts.values():
            if self.result_files is not None and host.master_pid:
                ssh_results.remove_cache(self.ssh(host, "-o", "ControlMaster=no"),
                                         self.cache)
            self._stop_master(host)
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- placing jobs (lock held) ---------------------------------------------------------

    def _pick(self, job: HostJob) -> Host | None:
        """The allowed host with the most free slots (ties: the order the hosts are
        listed in); a retry avoids the hosts its task failed on, and hosts found
        unreachable come last."""
        free = [h for h in job.hosts if h.busy < h.slots]
        if not free:
            return None
        avoid = self.avoid.get(job.call.task_id, ())
        now = time.monotonic()

        def shunned(h: Host) -> bool:
            return h.name in avoid or h.down_until > now

        best = min(free, key=lambda h: (shunned(h), h.busy - h.slots, job.hosts.index(h)))
        if shunned(best) and any(not shunned(h) for h in job.hosts):
            return None  # wait for a good host to free up rather than retry a bad one
        return best

    def _assign(self, job: HostJob, host: Host) -> None:
        self._localize(job, host)
        host.busy += 1
        idle = host.workers.idle
        self.send(job, idle.pop() if idle else self._start_link(host))

    def _localize(self, job: HostJob, host: Host) -> None:
        """Large upstream results: read from ``host``'s cache when they were made
        there, sent from the store's copy otherwise."""
        kwargs = job.call.kwargs
        refs = [name for name, value in kwargs.items()
                if isinstance(value, ssh_results.HostResult)]
        if refs:
            for name in refs:
                kwargs[name] = kwargs[name].for_host(host.name)
            job.wire = self.packer.pack(job.call)

    def accepts_ref(self, ref: Any) -> bool:
        return isinstance(ref, ssh_results.HostResult)

    def _start_link(self, host: Host) -> Link:
        argv = self.ssh(host, "-o", "ControlMaster=no")
        command = f"{self.settings.python} -m flowrun.executors.worker --cwd {shlex.quote(os.getcwd())}"
        level = os.environ.get("FLOWRUN_LOG_LEVEL") or os.environ.get("LOG_LEVEL")
        if level:
            command += f" --log-level {shlex.quote(level)}"
        options = list(self.settings.worker_options)
        if self.result_files is not None:
            options += ["--results-dir", self.cache,
                        "--result-threshold", str(self.result_files[1])]
        command += "".join(f" {shlex.quote(o)}" for o in options)
        argv.append(command)
        link = Link(argv, self._on_outcome, self._on_exit, on_request=self.on_request,
                    keep_stderr=True,
                    prepare=lambda: self._ensure_master(host), tag=host)
        host.workers.links.add(link)
        return link

    def lend(self, link: Link, delta: int) -> None:
        """A parent waiting on its children frees its host's slot meanwhile."""
        with self.lock:
            link.tag.busy -= delta
            if delta > 0 and not self.closed:
                self._drain()

    def _drain(self) -> None:
        """Start queued jobs that now fit somewhere."""
        for job in list(self.queue):
            if job.cancelled:
                self.queue.remove(job)
                continue
            host = self._pick(job)
            if host is not None:
                self.queue.remove(job)
                self._assign(job, host)

    # -- completions (reader threads) ---------------------------------------------------

    def _on_outcome(self, link: Link, job: Job | None, outcome: Outcome) -> None:
        host: Host = link.tag
        if outcome.result_ref is not None:
            outcome = self._fetched(host, outcome)
        with self.lock:
            if job is not None and outcome.status == FAILED:
                self.avoid.setdefault(job.call.task_id, set()).add(host.name)
            host.busy -= 1
            if not link.killed and not self.closed:
                host.workers.idle.append(link)
                self._drain()
        if job is not None:
            job.finish(outcome)

    def _fetched(self, host: Host, outcome: Outcome) -> Outcome:
        """A large result the host kept: copied into the store before the attempt
        counts as done, and passed on by reference."""
        folder = self.result_files[0]
        error = ssh_results.fetch(self.ssh(host, "-o", "ControlMaster=no"), self.cache,
                                  folder, outcome.result_ref)
        if error:
            return failed_outcome(f"ssh host '{host.name}': cannot fetch the task's "
                                  f"result into the store: {error}")
        outcome.ref = ssh_results.HostResult(folder, outcome.result_ref,
                                             outcome.result_format, host.name, self.cache)
        return outcome

    def _on_exit(self, link: Link, job: Job | None) -> None:
        host: Host = link.tag
        message, unreachable = self._exit_message(link, host)
        with self.lock:
            host.workers.forget(link)
            if unreachable:
                host.down_until = time.monotonic() + DOWN_FOR
            if job is not None:
                host.busy -= 1
                self.avoid.setdefault(job.call.task_id, set()).add(host.name)
            if job is not None and link.ready and not unreachable and not self.closed:
                host.workers.idle.append(self._start_link(host))  # replace a killed one
            if not self.closed:
                self._drain()
        if job is not None:
            job.finish(failed_outcome(message))

    def _exit_message(self, link: Link, host: Host) -> tuple[str, bool]:
        """One line for the attempt that was on ``link``; and whether the host is down."""
        if link.error:
            unreachable = "unreachable" in link.error
            return (link.error if unreachable else f"ssh host '{host.name}': {link.error}",
                    unreachable)
        tail = link.stderr_tail()
        code = link.proc.returncode if link.proc is not None else None
        if not link.ready and code == SSH_EXIT_ERROR:
            return f"ssh host '{host.name}' unreachable: {_detail(tail)}", True
        if not link.ready:
            return (f"ssh host '{host.name}': cannot start the flowrun worker "
                    f"({tail or link.exit_reason()}); the host needs Python 3.11+ and "
                    f"flowrun {__version__}", False)
        if code == SSH_EXIT_ERROR and not self.closed:  # the connection may be gone
            error = self._ensure_master(host)
            if error:
                return error, True
        return f"worker on ssh host '{host.name}' died ({link.exit_reason()})", False

    # -- master connections ---------------------------------------------------------------

    def _ensure_master(self, host: Host) -> str | None:
        """Start the host's master connection unless it runs; an error line or None."""
        with host.lock:
            if host.master_pid and self._check(host):
                return None
            if os.path.exists(host.socket):  # a dead master's socket blocks a new one
                os.unlink(host.socket)
            code, tail = self._start_master(host)
            if code != 0 or not self._check(host):
                return f"ssh host '{host.name}' unreachable: {_detail(tail)}"
            return None

    def _start_master(self, host: Host) -> tuple[int | None, str]:
        """``ssh -M -N -f``: returns once logged in; (exit code, last line it wrote)."""
        argv = self.ssh(host, "-o", "ControlMaster=yes", "-o", "ControlPersist=60",
                        "-N", "-f")
        with tempfile.TemporaryFile() as err:  # not a pipe: the master keeps it open
            try:
                code = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                      start_new_session=True, check=False,
                                      timeout=self.settings.connect_timeout + 20).returncode
            except subprocess.TimeoutExpired:
                code = None
            err.seek(0)
            lines = err.read().decode("utf-8", "replace").strip().splitlines()
        return code, (lines[-1] if lines else "no answer")

    def _check(self, host: Host) -> bool:
        """Whether the master runs (``ssh -O check``); remembers its pid."""
        done = subprocess.run(self.ssh(host, "-O", "check"), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True)
        found = done.stderr.partition("pid=")[2].partition(")")[0]
        host.master_pid = int(found) if done.returncode == 0 and found.isdigit() else None
        return host.master_pid is not None

    def _stop_master(self, host: Host) -> None:
        pid = host.master_pid
        if pid is None:
            return
        subprocess.run(self.ssh(host, "-O", "exit"), stdin=subprocess.DEVNULL,
                       capture_output=True)
        deadline = time.monotonic() + 2.0
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        if _alive(pid):
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        host.master_pid = None


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie nobody reaped yet does not count)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def _detail(line: str) -> str:
    """``ssh: connect to host 127.0.0.1 port 22: Connection refused`` -> the cause."""
    return line.rpartition(": ")[2].strip() or line.strip() or "no answer"
