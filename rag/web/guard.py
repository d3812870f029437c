"""Refuse requests that name another host: the server's defence against DNS rebinding and CSRF.

A web page on ``evil.example`` can make the browser resolve its own name to
127.0.0.1 and then talk to a local server as if it were evil.example: the
browser sends ``Host: evil.example:7860``, and (since the page's origin then
matches the host) Gradio's CORS layer lets the page read the answers. So
every request (HTTP and WebSocket) must carry a ``Host`` naming this server:
localhost, 127.0.0.1, [::1], the address it listens on, or a name the user
allowed (``rag serve --allow-host NAME``); anything else gets 400. A request
with an ``Origin`` header (every cross-site request a browser sends) must
come from one of those hosts too, else 403; so no other site can post to the
API or the UI's endpoints, and no response carries a permissive
``Access-Control-Allow-Origin``. Ports are not compared: the names are what
a rebinding page cannot fake.
"""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable, Iterable
from urllib.parse import urlsplit

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARDS = ("", "0.0.0.0", "::")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def host_name(value: str) -> str:
    """The host name of a ``Host`` header or an origin, lower case, without port or brackets.

    >>> host_name("127.0.0.1:7860"), host_name("[::1]:7860"), host_name("http://LocalHost:7860"), host_name("::1")
    ('127.0.0.1', '::1', 'localhost', '::1')
    """
    value = value.strip().lower()
    if "://" in value:
        value = urlsplit(value).netloc.rsplit("@", 1)[-1]
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    if value.count(":") > 1:  # a bare IPv6 address
        return value
    return value.split(":", 1)[0].rstrip(".")


def allowed_names(listen_host: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """The host names this server answers to: loopback, the address it listens on, and ``extra``.

    >>> sorted(allowed_names("0.0.0.0", ["reader.lan"]))
    ['127.0.0.1', '::1', 'localhost', 'reader.lan']
    """
    names = set(LOOPBACK_NAMES)
    if listen_host not in WILDCARDS:
        names.add(host_name(listen_host))
    names.update(host_name(name) for name in extra if name.strip())
    return frozenset(names)


class HostGuard:
    """ASGI middleware: only requests whose Host (and Origin, when sent) name an allowed host pass."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str]) -> None:
        self.app = app
        self.allowed = frozenset(allowed)

    def _refusal(self, scope: Scope) -> tuple[int, str] | None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host")
        names = ", ".join(sorted(self.allowed))
        if host is None or host_name(host) not in self.allowed:
            shown = host_name(host) if host else "(none)"
            return 400, (
                f"this server does not answer to the host {shown!r}; it answers to {names}. "
                f"To allow another name, start it with --allow-host NAME"
            )
        origin = headers.get("origin")
        if origin is not None and (origin == "null" or host_name(origin) not in self.allowed):
            return 403, f"requests from pages of {origin!r} are refused; this server serves pages of {names} only"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, message = refusal
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
            return
        body = json.dumps({"error": message}).encode()
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        ]})
        await send({"type": "http.response.body", "body": body})
