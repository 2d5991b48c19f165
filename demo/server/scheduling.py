"""Who goes first on a small machine: quick, interactive work (a generation: a visitor waits for each
character) before trainings and text analyses, which pause between their updates while it runs. On a 2-core
machine a visitor waiting for text is then not kept waiting by other visitors' trainings.

And every thread gets the interpreter back quickly (:func:`share_the_interpreter`): a generation gives up Python's
interpreter lock at each of its small torch calls and must take it back, and while any other thread runs Python
(a request being parsed, a handler, a training's bookkeeping) Python makes it wait its switch interval for it, 5 ms
by default — for every call. ``python -m bench.interference``: a 200-character generation beside one pure-Python
loop took ×218 its time alone at 5 ms, ×7 at 0.1 ms.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator

import gradio as gr

from . import limits, presence, sessions

_interactive = threading.Condition()
_interactive_count = 0
INTERACTIVE_WAIT = 1.0  # the longest a training pauses for interactive work at one time
SWITCH_SECONDS = 0.0001  # Python's switch interval in the app (its default: 0.005)
ANALYSIS = {"concurrency_id": "analysis", "concurrency_limit": limits.CONCURRENT_ANALYSES}  # event settings


def share_the_interpreter() -> None:
    """Set the app's switch interval: a thread that waits for the interpreter lock gets it after at most
    :data:`SWITCH_SECONDS` (see the module's docstring). Two pure-Python threads lose no measurable throughput."""
    sys.setswitchinterval(SWITCH_SECONDS)


@contextlib.contextmanager
def interactive() -> Iterator[None]:
    """Mark quick, interactive work (a generation): trainings pause between their updates until it is done."""
    global _interactive_count
    with _interactive:
        _interactive_count += 1
    try:
        yield
    finally:
        with _interactive:
            _interactive_count -= 1
            _interactive.notify_all()


def yield_to_interactive(stop: threading.Event | None = None) -> None:
    """Called by trainings between updates and by text analyses before they start: wait (briefly, and never
    past a Stop) while interactive work runs."""
    deadline = time.monotonic() + INTERACTIVE_WAIT
    with _interactive:
        while _interactive_count and not (stop and stop.is_set()) and time.monotonic() < deadline:
            _interactive.wait(0.05)


def begin_analysis(request: gr.Request | None) -> None:
    """Before a text analysis: refuse one whose results nobody reads (a join never read would otherwise keep the
    room's analysis slot and a core busy: issue 19's queue filler made generation 3× slower), then wait while
    interactive work runs."""
    presence.require_reader(sessions.key_of(request), "this analysis")
    yield_to_interactive()
