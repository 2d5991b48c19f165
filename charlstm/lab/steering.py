"""Switching a unit off: what holding one unit fixed does to the text a model writes and to how well it predicts.

A unit that follows quotes or line length may be one the model *uses*, or one that merely *tracks* something
while the model relies on other units (correlation is not cause). Clamping it answers which: Radford et al.
(2017) steered a whole review's sentiment by fixing one unit, while many tidy-looking units change nothing.
:func:`compare_clamped` writes the same continuation with and without a :class:`~charlstm.clamp.Clamp` (same
seed, so each character is drawn with the same random number) and scores a reference text both ways.
Everything returned is plain Python data; the stepping itself is :mod:`charlstm.steppers`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import torch

from ..clamp import Clamp
from ..evaluation import LN2
from ..model import CharLSTM
from ..renamed import renamed
from ..sampling import MAX_SEED_TEXT, sample, seed_ids
from ..steppers import stepper, zero_state
from ..vocab import Vocab

# How much a clamp must change the reference's bits per character to count. Measured on the default model (one
# layer of 256 units) and the last 1,500 characters of tiny Shakespeare: clamping each unit to 0 in turn changed
# the score by under 0.01 for 61% of the units and by 0.05 or more for none (the largest: 0.04); holding a hidden
# unit at +1 or -1 moved it by 0.05 or more for 36-38% of them (the largest: 0.16). Its knowledge is spread out.
NOTHING = 0.01  # below: the clamp changes almost nothing
MATTERS = 0.05  # from here: the unit matters to the model
# The values a suggestion tries, in order: off first (the experiment's name), then each end of what a unit reads
# normally (h within ±1; a trained c mostly within ±4). Switched off, no unit of the default model mattered.
TRY_VALUES = {"hidden": (0.0, 1.0, -1.0), "cell": (0.0, 4.0, -4.0)}
MAX_TRIES = 48  # clamps scored at most by one search: a few milliseconds each on a short text


@torch.no_grad()
def char_bits(
    model: CharLSTM, vocab: Vocab, text: str, clamp: Clamp | None = None, precision: str = "auto"
) -> np.ndarray:
    """The surprise, in bits, of each character of ``text`` given the ones before it (the first one after the
    start character), with ``clamp`` held at every step; the first :data:`~charlstm.sampling.MAX_SEED_TEXT`
    characters. Read one character at a time by the same stepper that generates (its weights in ``precision``,
    :data:`charlstm.steppers.PRECISIONS`)."""
    if clamp is not None:
        clamp.check(model)
    ids = seed_ids(vocab, text[:MAX_SEED_TEXT], torch.device("cpu"))[0].tolist()  # the start character first
    step, (h, c) = stepper(model, clamp, precision), zero_state(model)
    bits = np.empty(len(ids) - 1)
    for t, (i, target) in enumerate(pairwise(ids)):
        logits = step(i, h, c).astype(np.float64)  # (V,)
        # -log2 softmax(logits)[target], computed stably from the largest logit
        top = logits.max()
        bits[t] = (top + math.log(np.exp(logits - top).sum()) - logits[target]) / LN2
    return bits


def bits_per_char(model: CharLSTM, vocab: Vocab, text: str, clamp: Clamp | None = None) -> float:
    """The mean of :func:`char_bits`: how well the model (clamped or not) predicts ``text``."""
    if not text:
        raise ValueError("give a text of at least one character to score")
    return float(char_bits(model, vocab, text, clamp).mean())


@dataclass(frozen=True)
class Suggestion:
    """A clamp worth trying, and what it does to a text's bits per character."""

    clamp: Clamp
    change: float  # bits/char with the clamp minus without (negative: the model did better)
    tried: int  # clamps scored to find it

    @property
    def matters(self) -> bool:
        return abs(self.change) >= MATTERS


def find_clamp(
    model: CharLSTM,
    vocab: Vocab,
    text: str,
    units: list[tuple[str, int, int]],
    values: dict[str, tuple[float, ...]] | None = None,
    max_tries: int = MAX_TRIES,
) -> Suggestion | None:
    """The first of ``units`` (``(kind, layer, unit)``, in the order given: the caller's most interesting first)
    held at one of its :data:`TRY_VALUES` that raises the bits per character of ``text`` by :data:`MATTERS` or
    more (a cost tells the clearer story: the model needs this unit); when none does within ``max_tries`` clamps,
    the one that changed it most either way. None for no units. Scored on
    the text as :func:`compare_clamped` scores it, so the number the learner then sees is the same."""
    if not text:
        raise ValueError("give a text of at least one character to score")
    tries: dict[str, tuple[float, ...]] = dict(values or TRY_VALUES)
    reference = text[:MAX_SEED_TEXT]
    plain = bits_per_char(model, vocab, reference)
    best, tried = None, 0
    for kind, layer, unit in dict.fromkeys(units):  # each unit once, in order
        for value in tries[kind]:
            if tried >= max_tries:
                return best
            tried += 1
            clamp = Clamp(kind, layer, unit, value)
            found = Suggestion(clamp, bits_per_char(model, vocab, reference, clamp) - plain, tried)
            if found.change >= MATTERS:
                return found
            if best is None or abs(found.change) > abs(best.change):
                best = found
    return best if best is None else Suggestion(best.clamp, best.change, tried)


@dataclass(frozen=True)
class Comparison:
    """The same continuation written with and without a clamp, and a reference text scored both ways."""

    clamp: Clamp
    normal: str
    clamped: str
    differ: list[int]  # 0-based positions where the two texts have different characters
    bpc_normal: float  # bits per character of the reference without the clamp
    bpc_clamped: float  # and with it
    reference_chars: int  # characters of the reference scored

    @property
    def change(self) -> float:
        """Bits per character the clamp costs on the reference (negative: the model did better clamped)."""
        return self.bpc_clamped - self.bpc_normal

    @property
    def effect(self) -> str:
        """ "matters", "little" or "nothing": the size of :attr:`change` against :data:`MATTERS` and :data:`NOTHING`."""
        size = abs(self.change)
        return "matters" if size >= MATTERS else "nothing" if size < NOTHING else "little"


@renamed(prompt="seed_text")
def compare_clamped(
    model: CharLSTM,
    vocab: Vocab,
    clamp: Clamp,
    seed_text: str,
    length: int,
    temperature: float,
    top_k: int,
    top_p: float,
    seed: int,
    reference_text: str,
) -> Comparison:
    """Write ``length`` characters after ``seed_text`` twice with the same ``seed``, normally and with ``clamp``,
    and score ``reference_text`` both ways. Bad settings raise :class:`~charlstm.sampling.SamplingError` or
    :class:`~charlstm.clamp.ClampError`; an empty reference raises ``ValueError``."""
    clamp.check(model)
    if not reference_text:
        raise ValueError("give a reference text of at least one character to score")
    settings = dict(temperature=temperature, top_k=top_k, top_p=top_p)
    normal = sample(model, vocab, seed_text, length, generator=torch.Generator().manual_seed(seed), **settings)
    clamped = sample(
        model, vocab, seed_text, length, generator=torch.Generator().manual_seed(seed), clamp=clamp, **settings
    )
    reference = reference_text[:MAX_SEED_TEXT]
    return Comparison(
        clamp=clamp,
        normal=normal,
        clamped=clamped,
        differ=[k for k, (a, b) in enumerate(zip(normal, clamped)) if a != b],
        bpc_normal=bits_per_char(model, vocab, reference),
        bpc_clamped=bits_per_char(model, vocab, reference, clamp),
        reference_chars=len(reference),
    )
