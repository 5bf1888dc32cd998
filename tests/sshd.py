"""A real OpenSSH server for the tests: ``sshd -D`` on 127.0.0.1, a free port, its own
host and user keys (ed25519) in a temp dir, and an ``ssh_config`` naming two host
aliases for it (``h1``, ``h2``) plus one that points at a closed port (``hdead``).
"""
from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

SSHD = "/usr/sbin/sshd"


def why_unavailable() -> str | None:
    """Why the sshd tests cannot run here, or None."""
    if not os.path.exists(SSHD):
        return f"{SSHD} is not installed (apt-get install openssh-server)"
    if os.geteuid() != 0:
        return "sshd with a custom config must be started as root"
    if shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        return "the OpenSSH client (ssh) is not installed"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
                   check=True, stdin=subprocess.DEVNULL)


class SSHServer:
    """Start with ``start()``, stop with ``stop()`` (kills every session it forked)."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.dead_port = free_port()
        self.user = pwd.getpwuid(os.getuid()).pw_name
        self.proc: subprocess.Popen | None = None
        self.ssh_config = self.dir / "ssh_config"
        self._write_files()

    def _write_files(self) -> None:
        d = self.dir
        _keygen(d / "host_key")
        _keygen(d / "user_key")
        (d / "authorized_keys").write_text((d / "user_key.pub").read_text())
        host_pub = (d / "host_key.pub").read_text().split()[:2]
        (d / "known_hosts").write_text(f"[127.0.0.1]:{self.port} {' '.join(host_pub)}\n")
        (d / "sshd_config").write_text(f"""\
Port {self.port}
ListenAddress 127.0.0.1
HostKey {d / 'host_key'}
AuthorizedKeysFile {d / 'authorized_keys'}
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
PidFile none
MaxSessions 64
MaxStartups 64
LogLevel ERROR
""")
        common = f"""\
  HostName 127.0.0.1
  User {self.user}
  IdentityFile {d / 'user_key'}
  IdentitiesOnly yes
  UserKnownHostsFile {d / 'known_hosts'}
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  LogLevel ERROR
"""
        self.ssh_config.write_text(f"Host h1 h2\n  Port {self.port}\n{common}"
                                   f"Host hdead\n  Port {self.dead_port}\n{common}")

    def start(self) -> SSHServer:
        os.makedirs("/run/sshd", exist_ok=True)  # privilege separation dir (Debian)
        log = open(self.dir / "sshd.log", "ab")
        self.proc = subprocess.Popen([SSHD, "-f", str(self.dir / "sshd_config"), "-D", "-e"],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                     start_new_session=True)
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited: {(self.dir / 'sshd.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("sshd did not start listening")

    def stop(self) -> None:
        """Kill the listener and every connection and session it forked."""
        if self.proc is None:
            return
        for pid in [*descendants(self.proc.pid), self.proc.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        self.proc = None


def descendants(root: int) -> list[int]:
    """Every process below ``root`` (from /proc), children first."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rpartition(")")[2].split()[1])
    found: list[int] = []
    frontier = [root]
    while frontier:
        pid = frontier.pop()
        children = [c for c, p in parents.items() if p == pid]
        found.extend(children)
        frontier.extend(children)
    return found[::-1]


def tagged_processes(tag: str) -> list[int]:
    """Pids whose environment holds ``FLOWRUN_TEST_TAG=tag`` (workers, ssh clients and
    masters, remote workers), so tests can check that nothing was left behind."""
    needle = f"FLOWRUN_TEST_TAG={tag}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                environ = Path(f"/proc/{entry}/environ").read_bytes()
                state = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()[0]
            except OSError:
                continue
            if needle in environ.split(b"\0") and state != "Z":
                found.append(int(entry))
    return found


def wait_until_gone(tag: str, timeout: float = 5.0) -> list[int]:
    """The tagged processes still alive after ``timeout`` seconds (empty: all gone)."""
    deadline = time.monotonic() + timeout
    while (left := tagged_processes(tag)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left
