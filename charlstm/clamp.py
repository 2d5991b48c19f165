"""A clamp: one unit of a model held at a fixed value while the model reads and writes.

Radford et al. (2017) steered a sentiment LSTM by fixing a single unit; other units that track something a person
can name turn out to change nothing when fixed. A :class:`Clamp` is the experiment that tells the two apart: the
stepper of :mod:`charlstm.sampling` honours it at every character, and :mod:`charlstm.lab.steering` compares text and
bits per character with and without it. It is plain data that checks itself, like the configs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .config import CELL_NAMES
from .model import CharLSTM

KINDS = ("cell", "hidden")
MAX_VALUE = 10.0  # |value| at most: h lives in (-1, 1) and a trained c mostly within a few units of 0


class ClampError(ValueError):
    """A clamp that cannot be applied; the message says which field and why."""


@dataclass(frozen=True)
class Clamp:
    """Hold unit ``unit`` of layer ``layer`` (both 0-based) at ``value``.

    ``kind`` "cell" sets the memory c[unit] after it is updated and before h is computed from it, so the unit's
    output and every later step read the clamped memory. ``kind`` "hidden" sets h[unit] after it is computed, so
    the next layer, the head and the next step read the clamped value (the memory itself runs on unchanged).
    """

    kind: str
    layer: int
    unit: int
    value: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ClampError(f"a clamp's kind must be “cell” or “hidden”, not {self.kind!r}")
        for name in ("layer", "unit"):
            number = getattr(self, name)
            if isinstance(number, bool) or not isinstance(number, int) or number < 0:
                raise ClampError(f"a clamp's {name} must be a whole number from 0, not {number!r}")
        value = self.value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ClampError(f"a clamp's value must be a finite number, not {value!r}")
        if abs(value) > MAX_VALUE:
            raise ClampError(f"a clamp's value must be from {-MAX_VALUE:g} to {MAX_VALUE:g}, not {value:g}")

    def check(self, model: CharLSTM) -> None:
        """Raise :class:`ClampError` when the layer or unit is not in ``model``, or ``model`` (a GRU or plain RNN)
        has no memory cell for a "cell" clamp."""
        L, H = model.config.num_layers, model.config.hidden_size
        if self.kind == "cell" and model.config.cell != "lstm":
            name = CELL_NAMES[model.config.cell]
            raise ClampError(f"{name} has no memory cell c to clamp: clamp a hidden unit (kind “hidden”)")
        if self.layer >= L:
            raise ClampError(f"the clamp's layer must be from 0 to {L - 1} (0-based) for this model, not {self.layer}")
        if self.unit >= H:
            raise ClampError(f"the clamp's unit must be from 0 to {H - 1} for this model, not {self.unit}")

    def describe(self) -> str:
        """The clamp in words, 1-based layer as the app shows it: "cell unit 17 of layer 1 held at +0.00"."""
        return f"{self.kind} unit {self.unit} of layer {self.layer + 1} held at {self.value:+.2f}"
