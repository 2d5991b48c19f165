"""Evaluation: the mean loss of a model over a whole text, in nats and bits per character.

The text is cut into a few long streams evaluated side by side, with the recurrent state carried from chunk to
chunk along each stream, so the model is scored as it is used: reading on, not restarting every window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import torch
import torch.nn.functional as F

from .data import eval_streams
from .vocab import UNKNOWN_ID

LN2 = math.log(2)


class Scored(Protocol):
    """What :func:`evaluate` needs of a model: a :class:`~charlstm.model.CharLSTM`, or the benchmark's plain
    ``nn.LSTM`` network that it is compared with (``charlstm.bench``)."""

    training: bool

    @property
    def device(self) -> torch.device: ...

    def __call__(self, ids: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]: ...

    def eval(self) -> Any: ...

    def train(self, mode: bool = True) -> Any: ...


@dataclass(frozen=True)
class Evaluation:
    loss: float  # nats per character
    bpc: float
    chars: int


@torch.no_grad()
def evaluate(
    model: Scored,
    ids: torch.Tensor,
    streams: int = 8,
    chunk: int = 512,
    max_chars: int | None = None,
    unknown_cost: float = 0.0,
) -> Evaluation:
    """Mean loss over every next-character prediction in ``ids``, state carried across chunks.

    With ``max_chars``, only that many predictions, in windows spread over ``ids`` (a quick estimate).
    ``unknown_cost`` nats are added for each target that is the unknown id (``Corpus.unknown_cost``): otherwise a
    text of many rare characters would score well by predicting "unknown", which names none of them.
    """
    if len(ids) < 2:
        raise ValueError("evaluation needs at least two characters")
    was_training = model.training
    model.eval()
    x, y = eval_streams(ids, streams, max_chars)  # (S, L) each
    S, L = x.shape
    whole = max_chars is None or max_chars >= len(ids) - 1
    total, state = 0.0, None
    try:
        for start in range(0, L, chunk):
            xs, ys = x[:, start : start + chunk].to(model.device), y[:, start : start + chunk].to(model.device)
            logits, state = model(xs, state)
            total += F.cross_entropy(logits.flatten(0, 1), ys.flatten(), reduction="sum").item()
            if unknown_cost:  # (a comparison and a sync per chunk saved for the usual text)
                total += unknown_cost * (ys == UNKNOWN_ID).sum().item()
        tail = ids[S * L :].long().to(model.device)  # the few characters after the last full row
        if whole and len(tail) > 1:
            last = None if state is None else (state[0][:, -1:].contiguous(), state[1][:, -1:].contiguous())
            logits, _ = model(tail[None, :-1], last)
            total += F.cross_entropy(logits[0], tail[1:], reduction="sum").item()
            if unknown_cost:
                total += unknown_cost * (tail[1:] == UNKNOWN_ID).sum().item()
    finally:
        model.train(was_training)
    n = len(ids) - 1 if whole else S * L
    return Evaluation(total / n, total / n / LN2, n)
