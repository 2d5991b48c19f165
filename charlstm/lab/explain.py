"""Plain-data views of a model for teaching: the gates at one step, unit activations over a text, units that
track something a person can name, and how surprised the model is by each character.

Everything returned is Python floats and strings, ready to draw; the tensor work stays here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ..cell import PARTS as CELL_PARTS
from ..cell import Trace, trace
from ..model import CharLSTM
from ..sampling import char_probabilities, seed_ids, top_chars
from ..vocab import Vocab

MAX_TRACE_CHARS = 2000  # characters a view reads at most
PARTS = CELL_PARTS["lstm"]  # a GRU's views hold CELL_PARTS["gru"], a plain RNN's only "hidden"


@dataclass(frozen=True)
class CellView:
    """One step of one layer: each part's values over the units, their means, and the next-character guesses.
    The parts are the model's cell's (:data:`charlstm.cell.PARTS`); without a memory cell, previous_cell is []."""

    char: str
    step: int
    layer: int
    values: dict[str, list[float]]  # part -> H values
    means: dict[str, float]
    previous_cell: list[float]
    previous_hidden: list[float]
    guesses: list[tuple[str, float]]  # top 5, most likely first
    known: bool = True  # False: the model never saw ``char``, and read it as its "unknown" symbol


def cell_view(model: CharLSTM, vocab: Vocab, text: str, step: int, layer: int = 0) -> CellView:
    """The gates of ``layer`` while reading ``text[step]`` (after the characters before it)."""
    if not text:
        raise ValueError("type some text to step through")
    step = max(0, min(step, len(text) - 1, MAX_TRACE_CHARS - 1))
    layer = max(0, min(layer, model.config.num_layers - 1))
    ids = seed_ids(vocab, text[: step + 1], model.device)  # (1, step + 2): the start character first
    # The characters before are read by the fused model (fast, and equal to the readable cell to 1e-5); only
    # the character shown goes through the readable equations, so a step costs the same anywhere in the text.
    with torch.no_grad():
        _, (h, c) = model(ids[:, :-1])  # (L, 1, H) each
    result = trace(model, ids[:, -1:], (h, c))
    now = {part: getattr(result, part)[0, -1, layer] for part in CELL_PARTS[model.config.cell]}  # (H,) each
    before = [c[layer, 0], h[layer, 0]]
    probs = torch.softmax(result.logits[0, -1], -1)
    return CellView(
        char=text[step],
        step=step,
        layer=layer,
        values={part: value.tolist() for part, value in now.items()},
        means={part: float(value.mean()) for part, value in now.items()},
        previous_cell=before[0].tolist(),
        previous_hidden=before[1].tolist(),
        guesses=top_chars(probs, vocab, 5),
        known=not vocab.unknown_in(text[step]),
    )


@dataclass(frozen=True)
class Activations:
    """Hidden and cell values of every unit at every character of ``text``: arrays (T, num_layers, H); ``cell`` is
    (T, num_layers, 0) for a GRU or plain RNN, which have no memory cell."""

    text: str
    hidden: np.ndarray
    cell: np.ndarray

    def unit(self, kind: str, layer: int, unit: int) -> list[float]:
        """One unit's values over the text; ``kind`` is "hidden" or "cell"."""
        return getattr(self, kind)[:, layer, unit].tolist()


def activations(model: CharLSTM, vocab: Vocab, text: str) -> Activations:
    """Trace the first :data:`MAX_TRACE_CHARS` characters of ``text``."""
    text = text[:MAX_TRACE_CHARS]
    if not text:
        raise ValueError("give some text to look at")
    result = trace(model, seed_ids(vocab, text, model.device))
    hidden = result.hidden[0, 1:].cpu().numpy()  # (T, L, H)
    cell = result.cell[0, 1:].cpu().numpy() if isinstance(result, Trace) else hidden[:, :, :0]  # GRU, RNN: none
    return Activations(text, hidden, cell)


def _inside(text: str, opening: str, closing: str) -> list[float]:
    depth, out = 0, []
    for ch in text:
        if ch in opening and (opening != closing or depth == 0):
            depth += 1
        elif ch in closing and depth > 0:
            depth -= 1
        out.append(float(depth > 0))
    return out


def _position_in_line(text: str) -> list[float]:
    pos, out = 0, []
    for ch in text:
        pos = 0 if ch == "\n" else pos + 1
        out.append(float(pos))
    return out


# Named signals a unit might track; each maps a text to one number per character.
FEATURES: dict[str, Callable[[str], list[float]]] = {
    "inside quotes": lambda text: _inside(text, '"', '"'),
    "inside brackets": lambda text: _inside(text, "([{", ")]}"),
    "position in the line": _position_in_line,
    "start of a word": lambda text: [
        float(ch.isalnum() and (i == 0 or not text[i - 1].isalnum())) for i, ch in enumerate(text)
    ],
    "inside a word": lambda text: [float(ch.isalpha()) for ch in text],
    "upper case": lambda text: [float(ch.isupper()) for ch in text],
    "end of a sentence": lambda text: [float(ch in ".!?") for ch in text],
}


@dataclass(frozen=True)
class UnitMatch:
    """A unit whose values follow a named feature of the text (``correlation`` is Pearson's r)."""

    feature: str
    kind: str
    layer: int
    unit: int
    correlation: float


def find_units(acts: Activations) -> list[UnitMatch]:
    """For each feature that varies in the text, the unit that follows it most closely, best first."""
    matches = []
    for name, feature in FEATURES.items():
        signal = np.asarray(feature(acts.text), dtype=np.float64)
        if signal.std() == 0:
            continue  # the text never shows this feature
        best = None
        for kind in ("hidden", "cell"):
            if getattr(acts, kind).size == 0:
                continue  # no memory cell (a GRU or plain RNN)
            values = getattr(acts, kind).reshape(len(acts.text), -1).astype(np.float64)  # (T, L * H)
            r = _correlations(values, signal)
            index = int(np.nanargmax(np.abs(r))) if np.isfinite(r).any() else 0
            if best is None or abs(r[index]) > abs(best.correlation):
                layer, unit = divmod(index, getattr(acts, kind).shape[2])
                best = UnitMatch(name, kind, layer, unit, float(r[index]))
        if best is not None and math.isfinite(best.correlation):
            matches.append(best)
    return sorted(matches, key=lambda m: -abs(m.correlation))


def _correlations(values: np.ndarray, signal: np.ndarray) -> np.ndarray:
    v = values - values.mean(0)
    s = signal - signal.mean()
    with np.errstate(invalid="ignore", divide="ignore"):
        return (v * s[:, None]).sum(0) / (np.sqrt((v**2).sum(0)) * np.sqrt((s**2).sum()))


@dataclass(frozen=True)
class Surprise:
    """How likely the model found each character given the ones before it."""

    chars: list[str]
    probs: list[float]

    @property
    def bits(self) -> list[float]:
        return [-math.log2(max(p, 1e-12)) for p in self.probs]

    @property
    def mean_bits(self) -> float:
        return sum(self.bits) / len(self.bits) if self.probs else 0.0


def surprise(model: CharLSTM, vocab: Vocab, text: str, max_chars: int = MAX_TRACE_CHARS * 5) -> Surprise:
    """Per-character probabilities of the first ``max_chars`` characters of ``text``."""
    text = text[:max_chars]
    return Surprise(list(text), char_probabilities(model, vocab, text).tolist() if text else [])
