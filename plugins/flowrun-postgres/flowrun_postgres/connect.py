"""Connections: a small pool per process, and one line for every way the database can
refuse us. Every message names the store by ``redact_url``: a password never shows."""
from __future__ import annotations

import re
from typing import Any

from flowrun.plugin import StoreError, redact_url

#: Seconds to wait for the server when a command starts.
CONNECT_TIMEOUT = 10
#: Connections a process keeps: the engine's writes and reads, and a task's state read
#: or a lease renewal beside them (locks and ``flowrun ui``'s LISTEN use one more each).
POOL_SIZE = (1, 2)


def clean_message(exc: BaseException, url: str) -> str:
    """The first line of a driver error, without a password it might quote."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    text = re.sub(r"^connection failed: ", "", text)
    password = _password(url)
    if password:
        text = text.replace(password, "***")
    return re.sub(r"password=\S+", "password=***", text)


def _password(url: str) -> str | None:
    from urllib.parse import unquote, urlsplit

    try:
        return unquote(urlsplit(url).password or "") or None
    except ValueError:
        return None


def unreachable(exc: BaseException, url: str) -> StoreError:
    return StoreError(f"cannot connect to the store {redact_url(url)}: "
                      f"{clean_message(exc, url)} (check the URL, the server and the "
                      "credentials: PGPASSWORD or ~/.pgpass)")


def connect(url: str, **kwargs: Any) -> Any:
    """One autocommit connection, or ``StoreError`` in one line."""
    import psycopg

    try:
        return psycopg.connect(_libpq_url(url), autocommit=True,
                               connect_timeout=CONNECT_TIMEOUT, **kwargs)
    except psycopg.Error as exc:
        raise unreachable(exc, url) from None


def session_settings(lease_timeout: float) -> str:
    """What each connection asks of the server so that a host which stops answering
    (hung, power loss, a network cut) loses its sessions, and with them its locks and
    any transaction it left open, in about ``lease_timeout``: TCP keepalives, and a
    transaction left idle that long is ended (flowrun's last milliseconds)."""
    return (f"SET tcp_keepalives_idle = {max(1, int(lease_timeout / 2))}; "
            f"SET tcp_keepalives_interval = {max(1, int(lease_timeout / 6))}; "
            "SET tcp_keepalives_count = 3; "
            f"SET tcp_user_timeout = {max(1000, int(lease_timeout * 1000))}; "
            "SET idle_in_transaction_session_timeout = "
            f"{max(1000, int(lease_timeout * 1000))}")


def open_pool(url: str, lease_timeout: float) -> Any:
    """A pool of 1-2 autocommit connections; the first is made (and checked) now."""
    from psycopg_pool import ConnectionPool

    first = connect(url)  # a wrong password or host is reported now, in one line
    first.close()
    settings = session_settings(lease_timeout)
    pool = ConnectionPool(_libpq_url(url), min_size=POOL_SIZE[0], max_size=POOL_SIZE[1],
                          kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT},
                          configure=lambda conn: conn.execute(settings),
                          open=False, name="flowrun")
    pool.open(wait=False)
    return pool


def _libpq_url(url: str) -> str:
    """libpq takes ``postgresql://`` and ``postgres://`` as they are."""
    return url
