"""Server-side checks of every value a handler receives: the browser's limits are not enforced for API callers,
so numbers (NaN, strings, out of range) and texts (oversized) are checked again here."""

from __future__ import annotations

import json
import math
import string
from typing import Any

import gradio as gr

from charlstm.data import replace_surrogates


class Refusal(gr.Error):
    """A ``gr.Error`` whose text is its message alone: Gradio writes ``str(error)`` into some replies (a refusal
    before the queue), and ``gr.Error`` would add quotes."""

    def __str__(self) -> str:
        return self.message


def number(value: Any, name: str, low: float, high: float, integer: bool = False) -> float | int:
    """``value`` as a finite number in [low, high], or a ``gr.Error`` naming the setting and the allowed range.
    Numbers sent as text ("10") are read; anything else is refused."""
    what = "a whole number" if integer else "a number"
    allowed = f"from {low:g} to {high:g}" if math.isfinite(high) else f"of {low:g} or more"
    refusal = Refusal(f"{name} must be {what} {allowed}, not {shown(value)}.")
    if isinstance(value, bool):
        raise refusal
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise refusal from None
    if not math.isfinite(result) or not low <= result <= high or (integer and result != int(result)):
        raise refusal
    return int(result) if integer else result


def shown(value: Any) -> str:
    """A sent value as the visitor would write it (JSON), shortened: never a Python repr."""
    try:
        shown = json.dumps(value, ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError):
        shown = "a value of another kind"
    return shown if len(shown) <= 40 else shown[:37] + "…"


# ASCII punctuation a toast (HTML), a gr.Markdown or a gr.HTML could read as markup: tags, entities, links and
# autolinks ("http://"), emphasis, code, headings. Full stops and commas stay as they are, for readable source.
_MARKUP = frozenset(string.punctuation) - {".", ","}


def escaped(text: str) -> str:
    """``text`` (which a visitor or a link chose) safe to show in a toast, a Markdown or an HTML component: its
    markup characters as numeric character references, which both read as the plain character, and its line
    breaks and other control characters as spaces (a line that starts with "#" or "-" is markup too)."""
    return "".join(f"&#{ord(c)};" if c in _MARKUP else " " if c.isspace() or not c.isprintable() else c for c in text)


def text(value: Any, name: str, cap: int) -> str:
    """``value`` as a string of at most ``cap`` characters, lone surrogates replaced (with a warning): no reply
    could carry them, as they cannot be written as UTF-8."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Refusal(f"{name} must be text.")
    if len(value) > cap:
        raise Refusal(f"{name} has {len(value):,} characters; the cap is {cap:,}.")
    cleaned = replace_surrogates(value)
    if cleaned is not value:
        gr.Warning(f"{name} held half of a two-part character (a lone surrogate); it was replaced by \ufffd.")
    return cleaned


def too_long(value: Any, name: str, cap: int) -> dict:
    """A ``gr.validate`` result: refuse text over ``cap`` characters."""
    ok = value is None or (isinstance(value, str) and len(value) <= cap)
    length = len(value) if isinstance(value, str) else 0
    return gr.validate(ok, "" if ok else f"{name} has {length:,} characters; the cap is {cap:,}.")


def text_validator(name: str, cap: int):
    """A validator for an event whose first input is a capped text: it runs before the event is queued, so an
    oversized text is refused at once, whoever sends it. Gradio wants one result per input."""

    def validate(text: Any, *rest: Any):
        first = too_long(text, name, cap)
        return (first, *(gr.validate(True, "") for _ in rest)) if rest else first

    return validate
