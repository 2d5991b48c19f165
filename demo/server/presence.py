"""Who is still there: the heartbeat and event streams each session holds open, and the work each visitor has
waiting in the queue.

A page keeps a heartbeat stream open while it is shown and reads its results from an event stream; an API
script opens an event stream for each call: ``/queue/data`` (gradio_client, the page) or the API page's cURL
route, ``GET /call/<api_name>/<event_id>``. A small ASGI middleware (:class:`Watch`) counts them per session, so
the app can tell a page that lost its Wi-Fi for a moment (its heartbeat comes back: keep its work) from one that
is gone (free its work after :data:`limits.SESSION_GRACE_SECONDS`), and a join whose results nobody reads from
a real visitor (stop it at once). Gradio's own unload event fires on any dropped heartbeat, so it is not used.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import gradio as gr

from . import limits

log = logging.getLogger("demo.sessions")  # the server's log (one logger: its lines are the sessions' story)

HEARTBEAT, EVENTS = "heartbeat", "events"


@dataclass
class _Streams:
    open: Counter = field(default_factory=Counter)  # kind -> streams open now
    ever: set = field(default_factory=set)  # kinds ever opened
    last_open: float = field(default_factory=time.monotonic)  # when a stream was last open


_streams: dict[str, _Streams] = {}
_changed = threading.Condition()
# The cURL route's events whose POST named a session of its own: event id -> (session, when). Without one, an
# event's session is its id (Gradio's rule), so most events never need an entry here.
_call_sessions: dict[str, tuple[str, float]] = {}
CALL_POST = re.compile(r"/gradio_api/call/(?:v2/)?[^/]+/?$")  # POST .../call/<api_name>: join the queue
CALL_GET = re.compile(r"/gradio_api/call/(?:v2/)?[^/]+/([^/]+)/?$")  # GET .../call/<api_name>/<event_id>: read
_blocks: gr.Blocks | None = None  # set by :func:`watch`: the app whose queue is read


def watch(blocks: gr.Blocks) -> None:
    """Start watching ``blocks`` (its queue is read from here on); :func:`demo.app.launch` installs the middleware."""
    global _blocks
    _blocks = blocks


# A replica behind the balancer (demo.replicas) believes the X-Forwarded-For that HAProxy sets only when the request
# also carries this run's secret, which HAProxy adds: a local program can bind the balancer's address, not know it.
BALANCER_SECRET = os.environ.get("CHARLSTM_BALANCER_SECRET", "").encode()


class Balancer:
    """ASGI middleware of a replica: the visitor's address from the balancer's X-Forwarded-For when the secret
    header matches (and the header removed, so no handler sees it); otherwise the connection's own."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") in ("http", "websocket"):
            headers = scope.get("headers", [])
            secret = next((v for k, v in headers if k == b"x-charlstm-balancer"), b"")
            forwarded = next((v for k, v in headers if k == b"x-forwarded-for"), b"")
            scope = dict(scope, headers=[(k, v) for k, v in headers if k != b"x-charlstm-balancer"])
            if forwarded and hmac.compare_digest(secret, BALANCER_SECRET):
                scope["client"] = (forwarded.decode("latin-1").split(",")[-1].strip(), 0)
        await self.app(scope, receive, send)


def watching() -> bool:
    """Whether a launched app is being watched (handlers called directly, as in unit tests, are not)."""
    return _blocks is not None


class Watch:
    """ASGI middleware: counts the open ``/heartbeat/<session>``, ``/queue/data?session_hash=`` and
    ``/call/<api_name>/<event_id>`` streams."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") == "http" and scope.get("method") == "POST" and CALL_POST.search(scope["path"]):
            return await _call_post(self.app, scope, receive, send)
        kind, key = stream_of(scope)
        if kind is None:
            return await self.app(scope, receive, send)
        _opened(kind, key)
        try:
            await self.app(scope, receive, send)
        finally:  # the stream ended: finished, or the visitor's connection dropped
            _closed(kind, key)


def stream_of(scope: dict) -> tuple[str | None, str]:
    """The kind of stream a request opens (heartbeat or events) and the session it names; (None, "") for others."""
    if scope.get("type") != "http" or scope.get("method") != "GET":
        return None, ""
    path = scope.get("path", "")
    if "/heartbeat/" in path:
        return HEARTBEAT, path.rstrip("/").rsplit("/", 1)[-1]
    if path.endswith("/queue/data"):
        key = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("session_hash", [""])[0]
        return (EVENTS, key) if key else (None, "")
    if call := CALL_GET.search(path):
        event = call[1]
        return EVENTS, _call_sessions.get(event, (event, 0.0))[0]
    return None, ""


async def _call_post(app: Any, scope: dict, receive: Any, send: Any) -> None:
    """Pass a cURL-route join through, noting its event's session when the request named one (the answer gives
    the event id), so that the GET stream that reads it counts for that session."""
    asked, answer = bytearray(), bytearray()

    async def receive_body() -> dict:
        message = await receive()
        if message["type"] == "http.request" and len(asked) < 64 * 1024 * 1024:  # corpora are capped far below
            asked.extend(message.get("body", b""))
        return message

    async def send_body(message: dict) -> None:
        if message["type"] == "http.response.body":
            answer.extend(message.get("body", b""))
            if not message.get("more_body"):  # noted before the client has the event id to ask for
                _note_call_session(bytes(asked), bytes(answer))
        await send(message)

    await app(scope, receive_body, send_body)


def _note_call_session(asked: bytes, answer: bytes) -> None:
    try:
        event, session = json.loads(answer)["event_id"], json.loads(asked).get("session_hash")
    except (ValueError, KeyError, TypeError, AttributeError):  # refused, or not JSON: no event to note
        return
    if session and session != event:
        with _changed:
            _call_sessions[event] = (session, time.monotonic())


def _opened(kind: str, key: str) -> None:
    with _changed:
        streams = _streams.setdefault(key, _Streams())
        streams.open[kind] += 1
        streams.ever.add(kind)
        streams.last_open = time.monotonic()
        _changed.notify_all()


def _closed(kind: str, key: str) -> None:
    with _changed:
        streams = _streams.get(key)
        if streams is not None:
            streams.open[kind] -= 1
            streams.last_open = time.monotonic()


def forget(key: str) -> None:
    """Drop what is known of a session that was freed."""
    with _changed:
        if key in _streams and not +_streams[key].open:
            del _streams[key]


def prune(keep: set[str], now: float) -> None:
    """Forget streams closed more than the grace period ago of sessions not in ``keep`` (a page that opened a
    heartbeat and never asked for anything has no session, and must not be remembered for ever)."""
    with _changed:
        for key in [k for k, s in _streams.items() if k not in keep and not +s.open]:
            if now - _streams[key].last_open > limits.SESSION_GRACE_SECONDS:
                del _streams[key]
        for event in [e for e, (_, when) in _call_sessions.items() if now - when > limits.SESSION_GRACE_SECONDS]:
            del _call_sessions[event]


def present() -> set[str]:
    """The sessions someone is there for now: a stream open (a page, a script reading), or an event in the queue."""
    with _changed:
        keys = {k for k, s in _streams.items() if +s.open}
    if _blocks is not None:  # (not Gradio's pending ids: those of an event nobody read stay there for ever)
        keys |= {e.session_hash for e in list(_queue().event_ids_to_events.values())}
    return keys


def gone_for(key: str, now: float) -> float | None:
    """Seconds since the session's page (its heartbeat) was last seen; 0 while it is open; None for a session
    that never opened one (an API script, or a join nobody reads)."""
    with _changed:
        streams = _streams.get(key)
        if streams is None or HEARTBEAT not in streams.ever:
            return None
        return 0.0 if +streams.open else now - streams.last_open


def ever_listened(key: str) -> bool:
    """Whether anyone ever opened a stream for this session (a page, or a script reading its results)."""
    with _changed:
        return key in _streams


def await_listener(key: str, timeout: float = limits.LISTEN_WAIT_SECONDS) -> bool:
    """Wait until someone reads this session's results (an event stream is open); False once ``timeout`` has
    passed since the session's oldest waiting event joined the queue. A page or script opens its stream right
    after joining; a join nobody reads never does, and one that waited its turn in the queue is refused at once."""
    if not watching():
        return True
    deadline = _joined_at(key) + timeout
    with _changed:
        while not ((s := _streams.get(key)) and s.open[EVENTS] > 0):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            _changed.wait(left)
    return True


def _queue() -> Any:
    """Gradio's queue, the one private attribute read here: Gradio has no public view of when an event joined
    or of the events waiting and running (its own cURL route reads the queue the same way)."""
    assert _blocks is not None, "only a watched app has a queue to read (see watch)"
    return _blocks._queue


def _joined_at(key: str) -> float:
    """When the session's oldest event in Gradio's queue joined it (now, if it has none there)."""
    queue = _queue()
    events = [queue.event_ids_to_events.get(i) for i in list(queue.pending_event_ids_session.get(key, ()))]
    return min((e.enqueue_time for e in events if e is not None), default=time.monotonic())


def require_reader(key: str, what: str) -> None:
    """Refuse to start work whose results nobody reads (see :func:`await_listener`), with a line in the log."""
    if not await_listener(key):
        log.info("session %s… %s refused: nobody reads it", key[:8], what)
        raise gr.Error(f"Nobody is reading {what} (the page or script went away), so it did not start.")


# On a Hugging Face Space every visitor arrives through the Space's proxy, so the address the server sees is the
# proxy's, shared by the whole room: there (and only there: elsewhere anyone could send the header) the visitor's
# address is the first one in the X-Forwarded-For header the proxy sets.
ON_SPACE = bool(os.environ.get("SPACE_ID"))


def address(host: str | None, forwarded: str | None) -> str:
    """The visitor's address from the connection's ``host`` and the request's ``X-Forwarded-For``, which is
    believed only on a Space (behind a proxy of our own, uvicorn has already put it in ``host``: see the README)."""
    if ON_SPACE and forwarded:
        first = forwarded.split(",")[0].strip()
        if first:
            return first
    return host or "unknown"


def client_of(request: gr.Request | None) -> str:
    """The visitor's network address (see :func:`address`): per-address budgets are counted by it."""
    inner = getattr(request, "request", None) or request
    client = getattr(inner, "client", None) or getattr(request, "client", None)
    headers = getattr(inner, "headers", None) or getattr(request, "headers", None) or {}
    return address(getattr(client, "host", None), headers.get("x-forwarded-for"))


def address_of_scope(scope: dict) -> str:
    """:func:`client_of` for a raw ASGI request (the middleware's view)."""
    forwarded = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"x-forwarded-for"), None)
    return address((scope.get("client") or (None, 0))[0], forwarded)


def blocks() -> gr.Blocks | None:
    """The app being watched (None in unit tests that call handlers directly)."""
    return _blocks


def queued_events(client: str) -> list:
    """Every event this client has waiting or running in Gradio's queue (Gradio keeps no public view of it)."""
    if _blocks is None:
        return []
    return [e for e in list(_blocks._queue.event_ids_to_events.values()) if client_of(e.request) == client]


def waiting(key: str) -> bool:
    """Whether the session has an event waiting or running in Gradio's queue: its visitor is still there, however
    long the queue keeps them (a busy room kept a generation waiting past the idle time, and freed its session)."""
    return _blocks is not None and bool(_blocks._queue.pending_event_ids_session.get(key))


def queue_length() -> int:
    """Events waiting in Gradio's queue (not those running), as Gradio's own cap counts them."""
    return len(_blocks._queue) if _blocks is not None else 0


def queued_work(client: str, api_names: tuple[str, ...]) -> tuple[int, int]:
    """Events of ``api_names`` this client has waiting or running, and how many of them nobody reads (no event
    stream open for their session), from Gradio's queue: an event leaves it when it finishes or its reader
    disconnects, so the counts cannot drift."""
    if _blocks is None:
        return 0, 0
    events = list(_queue().event_ids_to_events.values())
    mine = [e for e in events if e.fn.api_name in api_names and client_of(e.request) == client]
    with _changed:
        unread = sum(1 for e in mine if not ((s := _streams.get(e.session_hash)) and s.open[EVENTS] > 0))
    return len(mine), unread
