"""flowrun's shared store on PostgreSQL: ``--store postgresql://USER@HOST:PORT/DB``.

Several cron hosts and a team keep one history: runs record their host and hold a
lease; ``--due`` claims each cron slot once across hosts; the UI hears changes through
``LISTEN/NOTIFY``. The password comes from the URL, ``PGPASSWORD`` or ``~/.pgpass``
(libpq's own rules) and is never printed.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flowrun.plugin import ConfigError, hookimpl

if TYPE_CHECKING:
    from flowrun_postgres.store import PostgresStorage

SCHEMES = ("postgresql://", "postgres://")
#: ``[tool.flowrun]`` keys the store reads (flowrun declares and checks them).
SETTINGS = ("lease_interval", "lease_timeout", "reconnect_timeout")


@hookimpl
def flowrun_make_storage(url: str, config: Any) -> PostgresStorage | None:
    if not url.startswith(SCHEMES):
        return None
    from flowrun_postgres.store import PostgresStorage

    settings = {name: float(config.setting(name)) for name in SETTINGS} \
        if config is not None else None
    if settings and settings["lease_timeout"] <= settings["lease_interval"]:
        raise ConfigError(
            f"{getattr(config, 'inifile', None) or '[tool.flowrun]'}: lease_timeout "
            f"({settings['lease_timeout']:g}) must be longer than lease_interval "
            f"({settings['lease_interval']:g}), or runs are interrupted between renewals")
    return PostgresStorage(url, settings)
