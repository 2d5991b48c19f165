"""The page, its configuration and the API's description, made once and then served as made.

Gradio rebuilds all three for every request: the page (``/``, 420 KB) copies and rewrites the whole
configuration of its 235 blocks, ``/config`` (250 KB) does the same, and ``/gradio_api/info`` (160 KB) runs its
cached description through FastAPI's encoder. That is 35-65 ms of the interpreter each, so a visitor opening the
page or a ``gradio_client`` (``/config`` then ``/info``) costs about 0.1 s of the one interpreter every
generation and every streamed frame shares: a room of 30 arriving over 15 s spends a fifth of it on them
(``python -m bench.load``). None of them changes after launch; only the address they name does. So the
:class:`Pages` middleware keeps each answer, keyed by the request's path and every header Gradio reads to name
the app's address (``route_utils.get_root_url``: the Host, ``X-Forwarded-Host``, ``X-Forwarded-Proto``,
``X-Gradio-Server``), and serves it again as Gradio made it.

What is never kept: a request naming one of Gradio's own parameters for these routes (a page of a multipage app,
a deep link, all endpoints), which then costs what it did; any answer but a 200; the cookie a response sets
(:mod:`demo.server.identity` adds its own to every answer, kept or not). At most :data:`KEPT` answers are kept,
the least recently served dropped first, so a client inventing Host headers cannot grow it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

PATHS = ("/", "/config", "/config/", "/gradio_api/info", "/gradio_api/info/")
GRADIO_PARAMETERS = frozenset({"page", "deep_link", "all_endpoints"})  # these change the answer: never kept
ADDRESS_HEADERS = (b"host", b"x-forwarded-host", b"x-forwarded-proto", b"x-gradio-server")
KEPT = 32  # answers (three paths × a few addresses the app is reached at; ~0.8 MB per address)


@dataclass(frozen=True)
class Answer:
    """A whole 200 as Gradio sent it, without its cookie and date."""

    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes


class Pages:
    """ASGI middleware: serves the page, ``/config`` and ``/gradio_api/info`` as Gradio made them the first time
    for the same address (see the module's docstring); every other request passes through untouched."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.kept: OrderedDict[tuple, Answer] = OrderedDict()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        key = _key(scope)
        if key is None:
            return await self.app(scope, receive, send)
        if (answer := self.kept.get(key)) is not None:
            self.kept.move_to_end(key)
            await send({"type": "http.response.start", "status": 200, "headers": list(answer.headers)})
            await send({"type": "http.response.body", "body": answer.body})
            return None
        start: dict = {}
        body = bytearray()

        async def keep(message: dict) -> None:
            # pass every message on as it comes, and note the answer to keep it if it is a whole 200
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))
                if not message.get("more_body") and start.get("status") == 200:
                    headers = tuple(
                        (k, v) for k, v in start.get("headers", []) if k.lower() not in (b"set-cookie", b"date")
                    )
                    self.kept[key] = Answer(headers, bytes(body))
                    while len(self.kept) > KEPT:
                        self.kept.popitem(last=False)
            await send(message)

        await self.app(scope, receive, keep)


def _key(scope: dict) -> tuple | None:
    """What an answer to this request depends on, or None for a request never answered from what is kept."""
    if scope.get("type") != "http" or scope.get("method") != "GET" or scope.get("path") not in PATHS:
        return None
    query = scope.get("query_string", b"").decode("latin-1")
    if any(name in GRADIO_PARAMETERS for name, _ in parse_qsl(query, keep_blank_values=True)):
        return None
    named = tuple((k, v) for k, v in scope.get("headers", []) if k in ADDRESS_HEADERS)  # every value, in order
    return scope["path"], scope.get("scheme"), scope.get("root_path", ""), scope.get("server"), named
