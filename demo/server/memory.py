"""What the sessions' models may hold: a new model is refused (``gr.Error``, with the numbers) when it would pass
one session's cap, one address's share or the server's budget (all in :mod:`demo.server.limits`). Each session
counts its own (:meth:`demo.server.sessions.Session.memory_bytes`); giving freed memory back is
:mod:`demo.server.allocator`'s."""

from __future__ import annotations

import gradio as gr

from . import limits, presence, sessions
from .sessions import Session

MB = 1024 * 1024


def check_memory(session: Session, needed: int) -> None:
    """Refuse (``gr.Error``) a model that would hold ``needed`` bytes when it passes the session's cap or, with
    every other session's models, the total budget (the session's current model is replaced, so not counted)."""
    if needed > limits.SESSION_MEMORY_MB * MB:
        raise gr.Error(
            f"This model would need about {needed / MB:.0f} MB while training; a visitor may use up to "
            f"{limits.SESSION_MEMORY_MB:.0f} MB. Lower hidden_size, num_layers or embedding_size."
        )
    others = [s for s in sessions.every() if s is not session]
    in_use = sum(s.memory_bytes() for s in others)
    needed += int(limits.MOMENTS_MEMORY_MB * MB)  # the time machine's moments of the run, at most
    mine = [s for s in others if s.address == session.address]
    held = sum(s.memory_bytes() for s in mine)
    if held + needed > limits.CLIENT_MEMORY_MB * MB and presence.watching():
        raise gr.Error(
            f"Your address's other {len(mine)} sessions hold {held / MB:,.0f} MB of models, and this one needs "
            f"{needed / MB:.0f} MB: one address may hold up to {limits.CLIENT_MEMORY_MB:,.0f} MB. Close a tab you "
            "no longer use (its model is freed a few minutes later), or train a smaller model."
        )
    if in_use + needed > limits.MEMORY_BUDGET_MB * MB:
        raise gr.Error(
            f"The server's memory for models is full: {len(others)} other visitors' models hold "
            f"{in_use / MB:,.0f} MB of its {limits.MEMORY_BUDGET_MB:,.0f} MB, and this one needs {needed / MB:.0f} MB. "
            "Try a smaller model (Automatic size), or again in a few minutes."
        )


def memory_in_use() -> int:
    """Bytes held by every session's models (for the load benchmark and tests)."""
    return sum(s.memory_bytes() for s in sessions.every())
