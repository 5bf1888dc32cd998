"""``flowrun ui [--host 127.0.0.1] [--port 8765] [--open]``: serve the dashboard."""
from __future__ import annotations

import os
import secrets
import socket
import sys
from typing import Any

import click

from flowrun.plugin import UsageError, redact_url

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _check_store(config: Any) -> None:
    """A store URL no plugin handles is one line before the server starts (not a
    traceback from its threads later); the URL is shown without its password."""
    store = config.hook.flowrun_make_storage(url=config.store_url, config=config)
    if store is None:
        raise UsageError(f"no store plugin handles '{redact_url(config.store_url)}' (try "
                         "sqlite:///PATH or memory:, or install the plugin of that store)")
    store.close()


def make_ui_command(context: Any) -> click.Command:
    @click.command("ui")
    @click.option("--host", default="127.0.0.1", show_default=True,
                  help="Address to listen on; any but loopback requires a token.")
    @click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
                  help="Port (0: any free one).")
    @click.option("--open", "open_browser", is_flag=True, help="Open it in a browser.")
    @click.option("--store", metavar="URL", help="Where runs are kept.")
    def ui(host: str, port: int, open_browser: bool, store: str | None) -> int:
        """A web dashboard and JSON API over the project's store."""
        config = context.make({"store": store})
        _check_store(config)
        token = None if host in LOOPBACK else (
            os.environ.get("FLOWRUN_UI_TOKEN") or secrets.token_urlsafe(24))
        sock = _bind(host, port)
        from flowrun_ui.server import serve

        url = f"http://{_url_host(host)}:{sock.getsockname()[1]}/"
        click.echo(f"flowrun ui: serving {redact_url(config.store_url)} at {url}")
        if token and "FLOWRUN_UI_TOKEN" in os.environ:
            click.echo("flowrun ui: every request needs the token in FLOWRUN_UI_TOKEN")
        elif token:
            click.echo(f"flowrun ui: every request needs a token; open {url}?token={token}")
        sys.stdout.flush()
        serve(config, sock, token, url if open_browser else None)
        return 0

    return ui


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # accepted connections inherit it: a response's header and body segments go out at
    # once instead of waiting ~40 ms on the client's delayed ACK
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UsageError(f"flowrun ui: cannot listen on {host}:{port}: {exc.strerror} "
                         "(choose another --port, or --port 0 for any free one)") from None
    sock.listen(128)
    sock.set_inheritable(False)
    return sock


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
