"""Who may ask, and how: an ASGI middleware in front of every route.

- Bound to another address than loopback, every request needs the token
  (``Authorization: Bearer``, ``?token=`` or the cookie a page opened with ``?token=``
  sets: HttpOnly, SameSite=Strict); without it, 401.
- On loopback, the Host header must name loopback (a DNS-rebinding page cannot).
- A state-changing request carries JSON (``Content-Type: application/json``) or no
  body at all, and no foreign ``Origin``: a form post from another site is refused,
  and a cross-site JSON post needs a CORS preflight this server never grants.
"""
from __future__ import annotations

import hmac
import json
from typing import Callable
from urllib.parse import parse_qs

COOKIE = "flowrun_ui_token"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


class Guard:
    def __init__(self, app: Callable, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        problem = self._problem(scope, headers)
        if problem is not None:
            await _answer(send, *problem)
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if self.token and query.get("token") and scope["method"] == "GET":
            send = _with_cookie(send, self.token)
        await self.app(scope, receive, send)

    def _problem(self, scope: dict, headers: dict[str, str]) -> tuple[int, str] | None:
        if self.token is None:
            if _hostname(headers.get("host", "")) not in LOOPBACK_HOSTS:
                return 400, f"unexpected Host {headers.get('host', '')!r}: open the UI " \
                            "at http://127.0.0.1 (or run it with --host)"
        elif not self._authorized(scope, headers):
            return 401, "a token is required: Authorization: Bearer TOKEN or ?token=TOKEN"
        if scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            origin = headers.get("origin")
            if origin and origin.split("://", 1)[-1] != headers.get("host", ""):
                return 400, f"a request from another site ({origin}) is refused"
            kind = headers.get("content-type", "").split(";")[0].strip().lower()
            if kind != "application/json" and not _empty(headers):
                return 400, "send a JSON body (Content-Type: application/json)"
        return None

    def _authorized(self, scope: dict, headers: dict[str, str]) -> bool:
        given = []
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            given.append(auth[7:].strip())
        given += parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [])
        for part in headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE:
                given.append(value)
        return any(hmac.compare_digest(t.encode(), self.token.encode()) for t in given)


def _empty(headers: dict[str, str]) -> bool:
    """No body at all (nothing to take for a form): what ``POST .../cancel`` may send."""
    return "content-type" not in headers and "transfer-encoding" not in headers and \
        headers.get("content-length", "0") == "0"


def _hostname(host: str) -> str:
    if host.startswith("["):
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0]


def _with_cookie(send: Callable, token: str) -> Callable:
    cookie = f"{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/".encode("latin-1")

    async def sending(message: dict) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []),
                                              (b"set-cookie", cookie)]}
        await send(message)

    return sending


async def _answer(send: Callable, status: int, error: str) -> None:
    body = json.dumps({"error": error}).encode()
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
