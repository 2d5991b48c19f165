"""Admission to the queue: what every event checks before it may join it, and what Train and Continue check too.

The door (:class:`Door`, an ASGI middleware in front of ``/queue/join``) gives each network address a bounded
share of the queue: at most ``limits.CLIENT_EVENTS`` events waiting or running, of them at most
``limits.CLIENT_ANALYSES`` text analyses, and it applies the queue's cap (``limits.QUEUE_MAX``) itself so that
Stop is never refused: Gradio's own cap would refuse Stop's join with everything else when one client filled the
queue. Gradio runs an event's validator before queueing it, so a refusal here costs the server nothing and keeps
the queue for visitors: the corpus cap, and a per-address budget of trainings waiting or running, and of those
nobody reads (``limits.CLIENT_TRAININGS``, ``limits.CLIENT_UNREAD_TRAININGS``), counted from Gradio's own queue
by :mod:`demo.server.presence`. And each address may send so much text a minute in large requests
(``limits.CLIENT_TEXT_MB_PER_MINUTE``): past it, a request is refused from its declared length, before it is read.
"""

from __future__ import annotations

import functools
import json
import time
from collections import Counter, defaultdict, deque
from typing import Any

import anyio
import gradio as gr

from . import checks, limits, presence, sessions

ALWAYS = ("stop",)  # api_names never refused: pressing Stop must always reach the training
ANALYSES = "analysis"  # the concurrency id of the text analyses (scheduling.ANALYSIS)
_entering: Counter[str] = Counter()  # joins of each address between the door and the queue


class Door:
    """ASGI middleware: refuses a queue join past its address's share of the queue, or past the queue's cap, with
    a message that says which and what to do; lets every other request through untouched."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope.get("type") != "http" or scope.get("method") != "POST" or not path.endswith("/queue/join"):
            return await self.app(scope, receive, send)
        address = presence.address_of_scope(scope)
        declared = _content_length(scope)
        if declared > limits.LARGE_REQUEST_BYTES and (over := _text_budget.refusal(address, declared)):
            return await _refuse(send, 429, over)  # before a byte of it is read or parsed
        chunks, more = [], True
        while more:  # joined once at the end: adding chunk by chunk copies a 12 MB body hundreds of times
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if len(body) <= limits.LARGE_REQUEST_BYTES:
            fn, session = _fn_of(body)
        else:  # a corpus is megabytes: parsed off the event loop, in threads of its own (not the handlers')
            if not declared and (over := _text_budget.refusal(address, len(body))):  # (sent without a length)
                return await _refuse(send, 429, over)
            fn, session = await anyio.to_thread.run_sync(_fn_of, body, limiter=_parsers())
        refusal = _refusal(fn, address, session)
        if refusal is not None:
            return await _refuse(send, *refusal)
        sent = False

        async def replay() -> dict:
            nonlocal sent
            if sent:
                return await receive()  # the app waits for a disconnect after the body
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        _entering[address] += 1
        try:
            await self.app(scope, replay, send)
        finally:
            _entering[address] -= 1
            if not _entering[address]:
                del _entering[address]


class TextBudget:
    """Each address's text sent in large requests over the last minute (``limits.CLIENT_TEXT_MB_PER_MINUTE``):
    :meth:`refusal` counts a request that fits, or says why one does not."""

    WINDOW = 60.0  # seconds

    def __init__(self) -> None:
        self.sent: dict[str, deque[tuple[float, int]]] = defaultdict(deque)  # address -> (when, bytes), oldest first

    def refusal(self, address: str, size: int, now: float | None = None) -> str | None:
        now = time.monotonic() if now is None else now
        if len(self.sent) > 1000:  # many addresses: forget those that sent nothing in the last minute
            for gone in [a for a, s in self.sent.items() if now - s[-1][0] > self.WINDOW]:
                del self.sent[gone]
        sent = self.sent[address]
        while sent and now - sent[0][0] > self.WINDOW:
            sent.popleft()
        total = sum(b for _, b in sent)
        cap = limits.CLIENT_TEXT_MB_PER_MINUTE * 2**20
        if total + size > cap:
            if not sent:
                del self.sent[address]
            return (
                f"Your address sent {total / 2**20:.0f} MB of text in the last minute and this request holds "
                f"{size / 2**20:.1f} MB more: the most one address may send is {cap / 2**20:.0f} MB a minute "
                "(CLIENT_TEXT_MB_PER_MINUTE). Wait a minute, then try again."
            )
        sent.append((now, size))
        return None


_text_budget = TextBudget()


def _content_length(scope: dict) -> int:
    """The request's declared body length (0 when it declares none)."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return max(0, int(value))
            except ValueError:
                return 0
    return 0


@functools.cache
def _parsers() -> anyio.CapacityLimiter:
    return anyio.CapacityLimiter(2)  # made within the event loop, on first use


def _fn_of(body: bytes) -> tuple[Any, str | None]:
    """The event function a join names (None when the body names none: Gradio answers that itself) and its
    session."""
    try:
        parsed = json.loads(body)
        fn_index, session = parsed.get("fn_index"), parsed.get("session_hash")
    except (ValueError, AttributeError):
        return None, None
    blocks = presence.blocks()
    fn = blocks.fns.get(fn_index) if blocks is not None and isinstance(fn_index, int) else None
    return fn, session if isinstance(session, str) else None


def _refusal(fn: Any, address: str, session: str | None = None) -> tuple[int, str] | None:
    """Why a join of ``fn`` for ``session`` from ``address`` is refused (an HTTP status and a sentence), or None."""
    if fn is None or fn.api_name in ALWAYS:
        return None
    over = sessions.refusal_of_new(session, address) if session else None
    if over:
        return 429, over
    mine = presence.queued_events(address)
    held = len(mine) + _entering[address]
    if held >= limits.CLIENT_EVENTS:
        return 429, (
            f"Your address already has {held} requests waiting or running, the most one address may have "
            f"({limits.CLIENT_EVENTS}): the app is busy with yours. Wait for them to finish, then try again."
        )
    if fn.concurrency_id == ANALYSES and sum(e.concurrency_id == ANALYSES for e in mine) >= limits.CLIENT_ANALYSES:
        return 429, (
            f"Your address already has {limits.CLIENT_ANALYSES} text analyses waiting or running (the most one "
            "address may have): the app is busy with them. Wait for one to finish, then try again."
        )
    waiting = presence.queue_length()
    if waiting >= limits.QUEUE_MAX:
        return 503, (
            f"The app is busy: {waiting} requests are waiting (its queue holds {limits.QUEUE_MAX}). "
            "Try again in a minute."
        )
    return None


async def _refuse(send: Any, status: int, message: str) -> None:
    body = json.dumps({"detail": message}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


TRAININGS = ("train", "continue", "race_cells")  # the api_names whose events count against the budget


def _admit(request: gr.Request, text: Any, others: int) -> tuple:
    """Validator of Train and Continue, run before an event is queued: the corpus cap, and the per-client budget
    of trainings waiting or running, and of those nobody reads (a client that joins the queue again and again
    cannot fill it). Gradio wants one result per input, and passes the request only to a validator that names
    every input."""
    queued, unread = presence.queued_work(presence.client_of(request), TRAININGS)
    ok = [gr.validate(True, "")] * others
    if queued >= limits.CLIENT_TRAININGS or unread >= limits.CLIENT_UNREAD_TRAININGS:
        message = (
            f"Your address already has {queued} trainings waiting or running, {unread} of them read by nobody "
            f"(the most are {limits.CLIENT_TRAININGS} and {limits.CLIENT_UNREAD_TRAININGS}): "
            "wait for one to finish, or press Stop."
        )
        return (gr.validate(False, message), *ok)
    return (checks.too_long(text, "The corpus", limits.CORPUS_MAX_CHARS), *ok)


def admit_train(
    text, seconds, auto, hidden, layers, embedding, seq_len, batch, rate, dropout, init, best, cell, request: gr.Request
):
    """Train's validator: every input named (Gradio passes the request only then), one result each."""
    return _admit(request, text, 12)


def admit_continue(text: Any, seconds: Any, request: gr.Request):
    """Continue's validator."""
    return _admit(request, text, 1)


def admit_race(text: Any, seconds: Any, request: gr.Request):
    """The cell race's validator."""
    return _admit(request, text, 1)
