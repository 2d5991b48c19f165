"""Memory reach: how strongly a model's prediction of a character depends on the characters it read k steps
before, and whether it still closes a bracket or a quote opened far back.

:func:`memory_reach` measures the dependence directly. For a position t of a reference text, the model reads the
``max_distance`` characters before it and predicts x_t; the gradient of log p(x_t | x_<t) with respect to the
embedding vector of the character at t − k says how much a small change of that character's input would move the
prediction. Its L2 norm, averaged over a few hundred positions, is the strength at distance k. A plain RNN's
strength falls off exponentially within a few dozen characters (its gradient vanishes: every step multiplies it
by the recurrent weights and a tanh slope below 1); the gates of a GRU or an LSTM let it carry further. The
:func:`half_life` condenses a curve to one number. :func:`closing_probability` is the behavioural side: the
model's probability of ``)`` after a ``(`` opened d characters back, against the same text without the ``(``.
Everything returned is plain numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..model import CharLSTM
from ..sampling import seed_ids
from ..vocab import UNKNOWN_ID, Vocab

DEFAULT_DISTANCE = 200  # characters back
MAX_DISTANCE = 500
DEFAULT_POSITIONS = 256  # predictions averaged: the curve's noise is small next to its fall at this count
MAX_POSITIONS = 2048
MAX_TEXT = 1_000_000  # characters of a reference text read at most
WARMUP = 64  # characters read (without gradients) before each window, so its state is a typical one, not zero
BATCH = 64  # windows differentiated at once
NOISE_FLOOR = 2.0**-20  # strengths below this share of the largest are float32 rounding, not dependence
MIN_FIT_POINTS = 3
MAX_CLOSING_DISTANCES = 200


class ReachError(ValueError):
    """A reach measurement that cannot be made as asked; the message says why."""


@dataclass(frozen=True)
class Reach:
    """The mean gradient norm ``strength[i]`` at distance ``distances[i]`` (1, 2, ... K characters back)."""

    cell: str
    distances: list[int]
    strength: list[float]
    half_life: float | None  # characters over which the strength halves; None when it cannot be fitted
    positions: int  # predictions averaged


def memory_reach(
    model: CharLSTM,
    vocab: Vocab,
    text: str,
    max_distance: int = DEFAULT_DISTANCE,
    positions: int = DEFAULT_POSITIONS,
    seed: int = 0,
) -> Reach:
    """Measure the reach of ``model`` over ``text`` at distances 1 … ``max_distance``, averaged over ``positions``
    predictions drawn (with ``seed``: the same draw every time) from the text. Drawn, not evenly spaced, so a
    text with a period (a table, a drill) cannot line every position up with one phase of it."""
    for name, value, cap in (("max_distance", max_distance, MAX_DISTANCE), ("positions", positions, MAX_POSITIONS)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= cap:
            raise ReachError(f"{name} must be a whole number from 1 to {cap}, not {value!r}")
    ids = vocab.encode(text[:MAX_TEXT]).long()
    K, n = max_distance, len(ids)
    if n < K + 1:
        raise ReachError(f"the text has {n:,} characters; a reach of {K} needs at least {K + 1}")
    warm = min(WARMUP, n - 1 - K)
    candidates = np.arange(K + warm, n)  # every t with K + warm characters before it
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(candidates, size=min(positions, len(candidates)), replace=False))
    was_training = model.training
    model.eval()  # no dropout: the model as it is used
    try:
        total = torch.zeros(K, dtype=torch.float64)
        for first in range(0, len(chosen), BATCH):
            total += _strength_sum(model, ids, torch.from_numpy(chosen[first : first + BATCH]), K, warm)
    finally:
        model.train(was_training)
    strength = (total / len(chosen)).tolist()
    distances = list(range(1, K + 1))
    return Reach(model.config.cell, distances, strength, half_life(distances, strength), len(chosen))


def _strength_sum(model: CharLSTM, ids: torch.Tensor, t: torch.Tensor, K: int, warm: int) -> torch.Tensor:
    """The gradient norms of log p(x_t) at distances 1 … K (K,), summed over the positions ``t`` (B,)."""
    device = model.device
    # the warm-up: the characters before each window, read without gradients, give its starting state
    state = None
    if warm:
        with torch.no_grad():
            _, state = model(ids[t[:, None] - K - warm + torch.arange(warm)].to(device))
    # the window: its embeddings are the leaf we differentiate with respect to
    window = ids[t[:, None] - K + torch.arange(K)].to(device)  # (B, K): x_{t-K} … x_{t-1}
    with torch.enable_grad():
        x = model.embed(window).detach().requires_grad_(True)  # (B, K, E)
        logits, _ = model.read(x, state)  # (B, K, V)
        log_p = torch.log_softmax(logits[:, -1], -1).gather(1, ids[t, None].to(device))  # (B, 1): log p(x_t)
        # the windows are independent, so one backward of the sum gives each window its own gradient
        (grad,) = torch.autograd.grad(log_p.sum(), x)  # (B, K, E); the weights' gradients are not computed
    return grad.norm(dim=-1).flip(1).sum(0).double().cpu()  # column k - 1 is distance k


def half_life(distances: Sequence[int], strength: Sequence[float]) -> float | None:
    """Characters over which ``strength`` halves: −1 / slope of a least-squares line through log2(strength)
    against the distance, fitted from the first distance up to where the strength first falls below
    :data:`NOISE_FLOOR` times its largest value (float32 rounding, not dependence). None when fewer than
    :data:`MIN_FIT_POINTS` distances are above the floor, or when the strength does not fall (the reach is
    longer than the distances measured can show)."""
    s = np.asarray(strength, dtype=np.float64)
    if len(s) == 0 or not np.isfinite(s).all() or s.max() <= 0:
        return None
    below = np.flatnonzero(s <= s.max() * NOISE_FLOOR)
    end = int(below[0]) if len(below) else len(s)
    if end < MIN_FIT_POINTS:
        return None
    slope = np.polyfit(np.asarray(distances[:end], dtype=np.float64), np.log2(s[:end]), 1)[0]
    return float(-1.0 / slope) if np.isfinite(slope) and slope < 0 else None


@dataclass(frozen=True)
class Closing:
    """The probability of ``closer`` at each distance from ``opener``, and without the opener (the baseline)."""

    opener: str
    closer: str
    distances: list[int]
    with_opener: list[float]
    without_opener: list[float]


@torch.no_grad()
def closing_probability(
    model: CharLSTM, vocab: Vocab, opener: str, closer: str, distances: Sequence[int], filler_text: str
) -> Closing:
    """The model's probability that the next character is ``closer`` when ``opener`` was read d characters back
    (d − 1 filler characters between them), for each d of ``distances``.

    The filler is the end of ``filler_text`` (with ``opener`` and ``closer`` removed): the same last characters
    at every distance, so only how long ago the opener was changes. ``without_opener`` reads the same filler
    with no opener: what the closer's probability is when nothing is open. The gap between the two is memory."""
    for name, char in (("opener", opener), ("closer", closer)):
        if not isinstance(char, str) or len(char) != 1 or vocab.encode(char)[0] == UNKNOWN_ID:
            raise ReachError(f"the {name} must be one character the model knows, not {char!r}")
    distances = list(distances)
    if not 1 <= len(distances) <= MAX_CLOSING_DISTANCES:
        raise ReachError(f"give 1 to {MAX_CLOSING_DISTANCES} distances")
    for d in distances:
        if isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= MAX_DISTANCE:
            raise ReachError(f"each distance must be a whole number from 1 to {MAX_DISTANCE}, not {d!r}")
    filler = filler_text.replace(opener, "").replace(closer, "")
    if len(filler) < max(distances) - 1:
        raise ReachError(f"the filler text needs at least {max(distances) - 1} characters besides {opener}{closer}")
    was_training = model.training
    model.eval()
    closer_id = int(vocab.encode(closer)[0])
    try:
        with_opener: list[float] = []
        without_opener: list[float] = []
        for d in distances:
            tail = filler[len(filler) - (d - 1) :]  # the last d - 1 filler characters
            for text, out in ((opener + tail, with_opener), (tail, without_opener)):
                logits, _ = model(seed_ids(vocab, text, model.device))  # the start character first
                out.append(float(torch.softmax(logits[0, -1], -1)[closer_id]))
    finally:
        model.train(was_training)
    return Closing(opener, closer, distances, with_opener, without_opener)
