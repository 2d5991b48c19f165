"""Server-side checks of every value a handler receives: the browser's limits are not enforced for API callers,
so numbers (NaN, strings, out of range) and texts (oversized) are checked again here."""

from __future__ import annotations

import math
from typing import Any

import gradio as gr


def number(value: Any, name: str, low: float, high: float, integer: bool = False) -> float | int:
    """``value`` as a finite number in [low, high], or a ``gr.Error`` naming the allowed range."""
    what = "a whole number" if integer else "a number"
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise gr.Error(f"{name} must be {what} from {low:g} to {high:g}, not {value!r}.") from None
    if not math.isfinite(result) or not low <= result <= high or (integer and result != int(result)):
        raise gr.Error(f"{name} must be {what} from {low:g} to {high:g}, not {value!r}.")
    return int(result) if integer else result


def text(value: Any, name: str, cap: int) -> str:
    """``value`` as a string of at most ``cap`` characters."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise gr.Error(f"{name} must be text.")
    if len(value) > cap:
        raise gr.Error(f"{name} has {len(value):,} characters; the cap is {cap:,}.")
    return value


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
