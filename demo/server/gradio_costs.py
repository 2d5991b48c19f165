"""What Gradio itself spends per session and per event, cut to what this app uses.

**Per event.** After every event, Gradio's queue builds a pandas table of the last 10,000 events (its monitoring
dashboard's summary: this app launches with monitoring off, so nothing reads it) and groups it by function, on a
worker thread that holds the interpreter for most of it: the longer the server has run, the more every generation,
every Learn step, every guess pays: 12 ms each after 100 events, 21 ms after 10,000, measured on this project's
machine. :func:`quiet_analytics` turns it off.

**Per session.** Gradio keeps a ``SessionState`` for every session hash it meets (``app.state_holder``). Built for
each new session, it copies the configuration of every block on the page, for deep links (a feature this app does
not use): with the app's 235 blocks, 20 ms of CPU on the server's event loop and 370 KB per session (issue 19's
session wiper, a join with a new session hash again and again, made every other visitor wait for those copies). And
Gradio drops a ``SessionState`` only when ``state_session_capacity`` newer ones push it out, so the memory of every
visitor who has left stays held (about 74 MB at the app's 200).

**Per output left as it was.** An event that streams (a generation, a training's progress) changes one or two of
its outputs at each yield and leaves the others as they are with ``gr.skip()``. Gradio treats a skip as an update
with no property changed, and still builds a new component for it (its constructor inspects every argument), puts it
in the session's state and remakes the configuration of both: 1 ms of the interpreter per skipped output, 5 ms per
streamed step of a generation, on the event loop, where every visitor's request waits. Profiling the room under
issue 19's hostile clients (``py-spy --gil``), Gradio's handling of updates held the interpreter a quarter of the
time. :func:`install` sends a skip on as it is, which is what Gradio's rebuild ends in: the component and its
configuration stay the same.

:func:`install` makes the copies lazy: built when a deep link first asks for them, never for a join. :func:`prune`
drops the state of sessions nobody will come back for (the sweeper's rules, :mod:`demo.server.sessions`), and the
results of their events nobody came to read (Gradio keeps those of 2,000 sessions). Both read
Gradio's private ``Queue``, ``SessionState`` and ``StateHolder``; ``tests/test_gradio_costs.py`` checks them
against the installed Gradio.
"""

from __future__ import annotations

import datetime
import sys
import types
from collections.abc import Iterator
from typing import Any

from gradio.blocks import Blocks
from gradio.components import _Keywords
from gradio.state_holder import SessionState

_gradio_init = SessionState.__init__
_gradio_components = SessionState.components
_gradio_postprocess = Blocks.postprocess_data
SKIP = {"__type__": "update"}  # gr.skip(): an update that changes nothing


def _lazy_init(self: SessionState, blocks: Any) -> None:
    # Gradio's own constructor, shown a page without blocks: every attribute as Gradio sets it, no copies made
    _gradio_init(self, types.SimpleNamespace(default_config=blocks.default_config, blocks={}))  # type: ignore[arg-type]
    self._page_blocks = blocks.blocks  # which blocks' configurations a deep link copies (Gradio's filter)


def _lazy_components(self: SessionState) -> Iterator[dict]:
    # the copies Gradio would have made at the start, in its order, built now; those updated since are kept
    made = self.config_values
    page = getattr(self, "_page_blocks", {})
    filled = {
        k: made[k] if k in made else self.blocks_config.config_for_block(k, [], block)
        for k, block in self.blocks_config.blocks.items()
        if k in page
    }
    self.config_values = filled | {k: c for k, c in made.items() if k not in filled}
    yield from _gradio_components.fget(self)  # type: ignore[attr-defined]


async def _postprocess_data(self: Blocks, block_fn: Any, predictions: Any, state: Any) -> list[Any]:
    # Gradio's own, but for the outputs left as they were: skipped without a component rebuilt for each
    outputs = block_fn.outputs
    if block_fn.batch or block_fn.is_validator_function:
        return await _gradio_postprocess(self, block_fn, predictions, state)
    single = len(outputs) == 1

    def gradios(values: list) -> Any:  # as Gradio takes them: a single output's value unwrapped
        return values[0] if single else values

    if single:
        predictions = [predictions]
    elif _is_skip(predictions):
        predictions = [SKIP] * len(outputs)  # one skip for every output (Gradio's convenience)
    if not isinstance(predictions, (list, tuple)) or len(predictions) != len(outputs):
        return await _gradio_postprocess(self, block_fn, gradios(predictions), state)
    skipped = {i for i, p in enumerate(predictions) if _is_skip(p) and not outputs[i].stateful}
    # Gradio leaves an output it is told has finished iterating alone (None); each is a skip again after
    rest = [_Keywords.FINISHED_ITERATING if i in skipped else p for i, p in enumerate(predictions)]
    output = await _gradio_postprocess(self, block_fn, gradios(rest), state)
    for i in skipped:
        output[i] = dict(SKIP)
    return output


def _is_skip(value: Any) -> bool:
    return isinstance(value, dict) and value == SKIP  # (a table's == would compare element by element)


def quiet_analytics(blocks: Any) -> None:
    """No monitoring summary after each event, and no record of past events kept for it (``blocks`` queued, and
    launched with ``enable_monitoring=False``: the dashboard is what reads them)."""
    queue = blocks._queue
    queue.ANAYLTICS_CACHE_FREQUENCY = sys.maxsize  # (Gradio's spelling) summarised once every that many events
    queue.ANALYTICS_MAX_EVENTS = 1  # the records only feed the summary: keep the latest


def install() -> None:
    """Make every ``SessionState`` built from now on lazy about its copies, and every skipped output cheap
    (idempotent)."""
    SessionState.__init__ = _lazy_init  # type: ignore[method-assign]
    SessionState.components = property(_lazy_components)  # type: ignore[method-assign,assignment]
    Blocks.postprocess_data = _postprocess_data  # type: ignore[method-assign]


def prune(blocks: Any, keep: set[str], unused_seconds: float) -> int:
    """Drop Gradio's state of every session not in ``keep`` that no request has used for ``unused_seconds``;
    returns how many were dropped. A session that comes back gets a fresh one, as a new visitor would."""
    holder = getattr(blocks, "state_holder", None)
    if holder is None:  # not launched (unit tests call handlers directly)
        return 0
    cutoff = datetime.datetime.now() - datetime.timedelta(seconds=unused_seconds)
    with holder.lock:
        stale = [k for k, used in list(holder.time_last_used.items()) if k not in keep and used < cutoff]
        for key in stale:
            holder.delete_state(key)  # Gradio's own clean-up of gr.State values (their delete callbacks)
            holder.session_data.pop(key, None)
            holder.time_last_used.pop(key, None)
    queue = getattr(blocks, "_queue", None)
    for key in stale if queue is not None else ():  # the results of its events that nobody came to read
        queue.pending_event_ids_session.pop(key, None)
        queue.pending_messages_per_session.pop(key, None)
    return len(stale)
