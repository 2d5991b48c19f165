"""Number widgets whose server-side check speaks to the visitor: Gradio's own refuses an out-of-range value with
"Value 50 is greater than maximum value 41." (no setting named) and a string or null with an empty or repr-laden
error. These name the setting and its range, whatever an API caller sends."""

from __future__ import annotations

from typing import Any

import gradio as gr

from ..server import checks


def _check(component: gr.Slider | gr.Number, payload: Any, check_maximum: bool) -> float | int:
    name = component.label or "The value"
    if isinstance(component, gr.Slider):  # a slider of whole steps from a whole minimum takes whole numbers
        integer = float(component.step).is_integer() and float(component.minimum).is_integer()
    else:
        integer = component.precision == 0
    high = component.maximum if check_maximum and component.maximum is not None else float("inf")
    low = component.minimum if component.minimum is not None else float("-inf")
    return checks.number(payload, name, low, high, integer=integer)


_OPEN: set[str] = set()  # elem_ids of sliders whose upper bound their handler checks (see open_maximum)


def open_maximum(slider: gr.Slider) -> gr.Slider:
    """Let ``slider`` (which must have an ``elem_id``) pass values above its maximum to its handler, which checks
    them itself: Learn's step slider has a maximum that depends on the text sent with it, the time machine's the
    visitor's run, neither of which the server's copy of the slider knows (a fresh API caller would be held to
    another visitor's range). Kept by ``elem_id``: Gradio rebuilds a session's updated copy of a component from its
    constructor's parameters, so an attribute set on the instance would be lost."""
    _OPEN.add(slider.elem_id)
    return slider


class Slider(gr.Slider):
    """A ``gr.Slider`` whose refusals name it (see :func:`open_maximum` for sliders whose handler checks the
    upper bound). (No ``__init__`` of its own: Gradio builds a component's config from its constructor's
    parameters, and the class keeps Gradio's name, "slider", so the page draws it as one.)"""

    def preprocess(self, payload: Any) -> float | int:
        return _check(self, payload, self.elem_id not in _OPEN)


class Number(gr.Number):
    """A ``gr.Number`` whose refusals name it (a missing value is refused too: every number here is required)."""

    def preprocess(self, payload: Any) -> float | int:
        return _check(self, payload, True)


class Radio(gr.Radio):
    """A ``gr.Radio`` that refuses a value outside its choices by naming itself and them (Gradio's own message
    shows Python types: "(type: <class 'str'>)")."""

    def preprocess(self, payload: Any) -> Any:
        allowed = [value for _, value in self.choices]
        if payload not in allowed or isinstance(payload, bool):
            raise checks.Refusal(
                f"{self.label} must be one of {', '.join(map(checks.shown, allowed))}, not {checks.shown(payload)}."
            )
        return payload


class Checkbox(gr.Checkbox):
    """A ``gr.Checkbox`` that takes only true or false (Gradio's passes anything on: "yes", 3, a list)."""

    def preprocess(self, payload: Any) -> bool:
        if not isinstance(payload, bool):
            raise checks.Refusal(f"{self.label} must be true or false, not {checks.shown(payload)}.")
        return payload


class Blocks(gr.Blocks):
    """``gr.Blocks`` that refuses a call with too few inputs by naming them; Gradio's own message lists its
    components' Python reprs (``<gradio.components.slider.Slider object at 0x…>``)."""

    def validate_inputs(self, block_fn: Any, inputs: list[Any]) -> None:
        wanted = [getattr(block, "label", None) or type(block).__name__ for block in block_fn.inputs]
        if len(inputs) < len(wanted):
            raise checks.Refusal(
                f"This endpoint takes {len(wanted)} inputs ({', '.join(wanted)}); it was sent {len(inputs)}."
            )
