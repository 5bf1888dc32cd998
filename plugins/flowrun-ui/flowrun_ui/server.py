"""Start the app on an already bound socket (so the port is known and printed first)
and serve until Ctrl-C; runs it started keep running."""
from __future__ import annotations

import socket
from typing import Any

from flowrun_ui.state import UIState


def serve(config: Any, sock: socket.socket, token: str | None, open_url: str | None) -> None:
    import uvicorn

    from flowrun_ui.app import make_app

    state = UIState(config, token)
    app = make_app(state)

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            state.hub.stop()  # ends open /events streams, so shutting down is quick
            super().handle_exit(sig, frame)

    server = Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                   timeout_graceful_shutdown=2, lifespan="on"))
    if open_url:
        import threading
        import webbrowser

        threading.Timer(0.3, webbrowser.open, (open_url,)).start()
    try:
        server.run(sockets=[sock])
    finally:
        state.close()
