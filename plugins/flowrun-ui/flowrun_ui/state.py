"""What every request shares: the config, the token, one store per thread (a SQLite
connection is not shared between threads), the launcher of runs, the flow catalog and
the event hub."""
from __future__ import annotations

import threading
from typing import Any

from flowrun.plugin import StoreError, redact_url


class UIState:
    def __init__(self, config: Any, token: str | None) -> None:
        from flowrun_ui.catalog import Catalog
        from flowrun_ui.events import Hub
        from flowrun_ui.launcher import Launcher

        self.config = config
        self.rootdir = config.rootdir
        self.store_url = config.store_url
        self.token = token
        self._local = threading.local()
        self._stores: list[Any] = []
        self._lock = threading.Lock()
        self.launcher = Launcher(self)
        self.catalog = Catalog(self)
        self.hub = Hub(self)

    def open_store(self) -> Any:
        """A new store on the project's URL (the caller owns and closes it)."""
        store = self.config.hook.flowrun_make_storage(url=self.store_url, config=self.config)
        if store is None:
            raise StoreError(f"no store plugin handles '{redact_url(self.store_url)}'")
        return store

    @property
    def store(self) -> Any:
        """This thread's store."""
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = self.open_store()
            with self._lock:
                self._stores.append(store)
        return store

    def close(self) -> None:
        self.hub.stop()
        with self._lock:
            stores, self._stores = self._stores, []
        for store in stores:
            try:
                store.close()
            except Exception:  # noqa: BLE001 - closing at exit; nothing left to tell
                pass
