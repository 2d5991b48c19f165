"""Who goes first on a small machine: quick, interactive work (a generation: a visitor waits for each
character) before trainings and text analyses, which pause between their updates while it runs. On a 2-core
machine a visitor waiting for text is then not kept waiting by other visitors' trainings.

And between those pauses the operating system gives a waiting generation the core first: every training's updates
run on threads of a lower scheduling priority (:func:`in_background`, nice :data:`BACKGROUND_NICE`). An update
already under way when a generation starts does not pause, and with two trainings on two cores a generation's
thread, woken at each of its thousands of small torch calls, would otherwise wait its turn behind them each time.
So does the work a training ends with (:func:`call_in_background`: saving the model, writing from it): one address
training a 3×512 model again and again spent a third of a core on it at the app's priority.

And every thread gets the interpreter back quickly (:func:`share_the_interpreter`): a generation gives up Python's
interpreter lock at each of its small torch calls and must take it back, and while any other thread runs Python
(a request being parsed, a handler, a training's bookkeeping) Python makes it wait its switch interval for it, 5 ms
by default — for every call. ``python -m bench.interference``: a 200-character generation beside one pure-Python
loop took ×218 its time alone at 5 ms, ×7 at 0.1 ms.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import gradio as gr

from . import limits, presence, sessions

_interactive = threading.Condition()
_interactive_count = 0
_switch_outside = sys.getswitchinterval()  # the interval when no interactive work runs (the app's, once launched)
INTERACTIVE_WAIT = 1.0  # the longest a training pauses for interactive work at one time
SWITCH_SECONDS = 0.0001  # Python's switch interval in the app (its default: 0.005)
INTERACTIVE_SWITCH_SECONDS = 0.00001  # ... while interactive work runs: it takes the lock back sooner still
BACKGROUND_NICE = 10  # a training's threads, above the app's: the scheduler gives the app's ~9× their share of a core
ANALYSIS = {"concurrency_id": "analysis", "concurrency_limit": limits.CONCURRENT_ANALYSES}  # event settings


def share_the_interpreter() -> None:
    """Set the app's switch interval: a thread that waits for the interpreter lock gets it after at most
    :data:`SWITCH_SECONDS` (see the module's docstring). Two pure-Python threads lose no measurable throughput."""
    global _switch_outside
    _switch_outside = SWITCH_SECONDS
    sys.setswitchinterval(SWITCH_SECONDS)


@contextlib.contextmanager
def interactive() -> Iterator[None]:
    """Mark quick, interactive work (a generation): trainings pause between their updates until it is done, and
    the switch interval is :data:`INTERACTIVE_SWITCH_SECONDS` meanwhile (``python -m bench.interference``: a
    generation beside a pure-Python loop ×5.4 its time alone instead of ×7.0; the loop loses about a quarter of its
    speed while it runs)."""
    global _interactive_count
    with _interactive:
        _interactive_count += 1
        if _interactive_count == 1:
            sys.setswitchinterval(min(_switch_outside, INTERACTIVE_SWITCH_SECONDS))
    try:
        yield
    finally:
        with _interactive:
            _interactive_count -= 1
            if not _interactive_count:
                sys.setswitchinterval(_switch_outside)  # (not the value read back: Python rounds it down)
            _interactive.notify_all()


def yield_to_interactive(stop: threading.Event | None = None) -> None:
    """Called by trainings between updates and by text analyses before they start: wait (briefly, and never
    past a Stop) while interactive work runs."""
    deadline = time.monotonic() + INTERACTIVE_WAIT
    with _interactive:
        while _interactive_count and not (stop and stop.is_set()) and time.monotonic() < deadline:
            _interactive.wait(0.05)


T = TypeVar("T")
_END = object()


def in_background(items: Iterator[T]) -> Iterator[T]:
    """``items`` (a training's progress), each produced on a thread of lower scheduling priority (Linux; elsewhere
    at the usual priority); closing this closes ``items``."""
    try:
        while (item := _background().submit(next, items, _END).result()) is not _END:
            yield item  # type: ignore[misc]
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()


def call_in_background(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` on a thread of lower scheduling priority, as a training's updates run, waited for: work a
    training ends with (saving its model, writing from it), which generations should not wait behind."""
    return _background().submit(fn, *args).result()


@functools.cache
def _background() -> ThreadPoolExecutor:
    # one thread per training the room runs at once, and spares for the cell race, Continue and a run's end
    workers = limits.CONCURRENT_TRAININGS + 2
    lower = functools.partial(lower_priority, BACKGROUND_NICE)
    return ThreadPoolExecutor(workers, thread_name_prefix="background", initializer=lower)


def lower_priority(by: int) -> None:
    """Raise the calling thread's nice value by ``by`` (at most 19); threads it starts inherit it. Linux only (a
    thread is a task there; raising it needs no privilege); elsewhere nothing changes, and trainings still pause
    for generations between their updates."""
    try:
        me = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, me, min(19, os.getpriority(os.PRIO_PROCESS, me) + by))
    except (AttributeError, OSError):
        pass


def begin_analysis(request: gr.Request | None) -> None:
    """Before a text analysis: refuse one whose results nobody reads (a join never read would otherwise keep the
    room's analysis slot and a core busy: issue 19's queue filler made generation 3× slower), then wait while
    interactive work runs."""
    presence.require_reader(sessions.key_of(request), "this analysis")
    yield_to_interactive()
