"""Admission to the training queue: what Train and Continue check before an event may join it.

Gradio runs an event's validator before queueing it, so a refusal here costs the server nothing and keeps the
queue for visitors: the corpus cap, and a per-address budget of trainings waiting or running, and of those
nobody reads (``limits.CLIENT_TRAININGS``, ``limits.CLIENT_UNREAD_TRAININGS``), counted from Gradio's own queue
by :mod:`demo.presence`.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from . import checks, limits, presence

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
