"""Which server process a visitor's work lives in: this process's boot id, the cookie that carries it, and the
visitors who arrive from another boot (a replica that died behind the balancer, or this server restarted).

A visitor's session lives in one process's memory. The page (``/``) and a ``gradio_client`` (``/config``) are
given a ``charlstm_boot`` cookie naming this process when they start; a later request whose cookie names another
boot, for a session this process has never seen, comes from a visitor whose work was lost with that process,
and :mod:`demo.server.sessions` tells them so once instead of silently starting afresh. A page's heartbeat reconnecting
after the loss carries the old cookie too, so its session is marked before the page asks for anything. No cookie
(first visit, or a browser that refuses cookies) means nothing is known: nothing changes. ``/healthz`` answers the
balancer's health checks with the replica's name, its boot and the address it sees for the caller.
"""

from __future__ import annotations

import json
import os
import secrets
from collections import OrderedDict
from http.cookies import CookieError, SimpleCookie
from typing import Any

import gradio as gr

from . import presence

BOOT = secrets.token_hex(8)  # this process: a restart, or another replica, has another
REPLICA = os.environ.get("CHARLSTM_REPLICA", "")  # the launcher's name for this process (demo.replicas)
COOKIE = "charlstm_boot"
RESTARTED = (
    "This server restarted; your session is gone (your model with it). Upload the model you downloaded, or train again."
)
_from_elsewhere: OrderedDict[str, None] = OrderedDict()  # session hashes seen with another boot's cookie
_REMEMBERED = 10_000  # the most kept: a client sending made-up hashes cannot grow it without bound


def came_from_elsewhere(request: gr.Request | None) -> bool:
    """Whether this request's visitor was last served by another boot (call it for a session new here)."""
    headers = getattr(request, "headers", None) or {}
    if _foreign(headers.get("cookie", "")):
        return True
    return getattr(request, "session_hash", None) in _from_elsewhere


def _foreign(cookie_header: str) -> bool:
    cookies = SimpleCookie()
    try:
        cookies.load(cookie_header)
    except CookieError:  # a malformed Cookie header tells us nothing
        return False
    return COOKIE in cookies and cookies[COOKIE].value != BOOT


class Boot:
    """ASGI middleware: hands out the boot cookie, marks sessions that come back from another boot, answers
    ``/healthz``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            return await self.app(scope, receive, send)
        path, method = scope.get("path", ""), scope.get("method")
        if path == "/healthz":
            return await _health(scope, send)
        _kind, key = presence.stream_of(scope)
        if key and _foreign(next((v.decode("latin-1") for k, v in scope["headers"] if k == b"cookie"), "")):
            _from_elsewhere[key] = None
            while len(_from_elsewhere) > _REMEMBERED:
                _from_elsewhere.popitem(last=False)
        if method != "GET" or not (path == "/" or path.endswith("/config")):
            return await self.app(scope, receive, send)

        async def send_with_cookie(message: dict) -> None:
            if message["type"] == "http.response.start":
                cookie = f"{COOKIE}={BOOT}; Path=/; HttpOnly; SameSite=Lax"
                message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie.encode())]
            await send(message)

        await self.app(scope, receive, send_with_cookie)


async def _health(scope: dict, send: Any) -> None:
    client = (scope.get("client") or ("unknown", 0))[0]  # after uvicorn applied X-Forwarded-For, if trusted
    body = json.dumps({"replica": REPLICA, "boot": BOOT, "client": client}).encode()
    headers = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
