"""A throwaway PostgreSQL cluster for tests and benchmarks: ``initdb`` in a temp dir,
``fsync=off``, on 127.0.0.1 and a free port, one database per test.

``initdb`` refuses to run as root, so as root the cluster belongs to the ``postgres``
user (made by Debian's package) and its programs run through ``runuser``."""
from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from typing import Any

PASSWORD = "s3cret-Pw-91"


def find_bindir() -> str | None:
    """The newest installed PostgreSQL's programs, or None."""
    for found in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True):
        return os.path.dirname(found)
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


class Cluster:
    """A running cluster; ``new_database()`` gives a fresh database's URL."""

    def __init__(self, bindir: str) -> None:
        self.bindir = bindir
        self.dir = tempfile.mkdtemp(prefix="flowrun-pg-", dir=_base_dir())
        self.data = os.path.join(self.dir, "data")
        self.port = _free_port()
        self._names = itertools.count(1)
        self._as: list[str] = []
        if os.geteuid() == 0:
            import pwd

            user = "postgres" if _user_exists("postgres") else "nobody"
            os.chown(self.dir, pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid)
            self._as = ["runuser", "-u", user, "--"]
        os.chmod(self.dir, 0o700)
        pwfile = os.path.join(self.dir, "pw")
        self._run("sh", "-c", f"echo {PASSWORD} > {pwfile}")
        self._run(os.path.join(bindir, "initdb"), "-D", self.data, "--no-sync", "-U",
                  "postgres", "--auth-local=trust", "--auth-host=scram-sha-256",
                  f"--pwfile={pwfile}", "-E", "UTF8")
        with open(os.path.join(self.data, "postgresql.auto.conf"), "a") as conf:
            conf.write(f"fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                       f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                       f"unix_socket_directories = '{self.dir}'\nmax_connections = 200\n")
        self.start()

    def _run(self, *argv: str) -> None:
        subprocess.run([*self._as, *argv], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)

    def start(self) -> None:
        self._run(os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-w", "-l",
                  os.path.join(self.dir, "log"), "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-w", "-m", mode,
                  "stop")

    def restart(self) -> None:
        self._run(os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-w", "-m", "fast",
                  "-l", os.path.join(self.dir, "log"), "restart")

    def url(self, database: str = "postgres", password: str | None = PASSWORD) -> str:
        auth = f"postgres:{password}" if password is not None else "postgres"
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        import psycopg

        name = f"flowrun_test_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)

    def close(self) -> None:
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


def start_cluster() -> tuple[Cluster | None, str]:
    """(a running cluster, "") or (None, why there is none)."""
    bindir = find_bindir()
    if bindir is None:
        return None, "PostgreSQL is not installed (no initdb; apt-get install postgresql)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return None, "psycopg is not installed (pip install -e plugins/flowrun-postgres)"
    try:
        return Cluster(bindir), ""
    except (subprocess.CalledProcessError, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        return None, f"cannot start PostgreSQL: {exc} {detail.decode(errors='replace')}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _base_dir() -> str | None:
    """Where the cluster's dir goes: the temp dir, unless the server runs as another user
    (we are root) who cannot reach it (pytest's ``tmp_path`` is private): then /tmp."""
    path = tempfile.gettempdir()
    if os.geteuid() != 0:
        return None
    while path != os.path.dirname(path):
        if not os.stat(path).st_mode & 0o001:  # others may not pass through it
            return "/tmp"
        path = os.path.dirname(path)
    return None


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def environment(url: str, host: str, **extra: Any) -> dict[str, str]:
    """An environment for a ``flowrun`` process on that store, as host ``host``."""
    return {**os.environ, "FLOWRUN_STORE": url, "FLOWRUN_HOSTNAME": host,
            **{k: str(v) for k, v in extra.items()}}
