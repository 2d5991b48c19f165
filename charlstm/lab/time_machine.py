"""The training time machine: compact snapshots of a model's weights at moments of its training.

A :class:`Timeline` keeps a bounded number of :class:`Moment` s, each the weights at one evaluation, stored as
8-bit integers with one scale per row (a quarter of float32; the bits/char they score is within about 0.01 of
the original's — tested). It holds at most ``max_bytes`` and ``max_count`` moments: when full, the moment
whose neighbours are closest together in time goes, so the ones kept stay spread over the whole run (the first
and the latest are always kept). :meth:`Timeline.model_at` rebuilds the model as it was, e.g. to write a sample
"at 2 s" beside one "at 60 s" with the same random seed.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import torch

from ..config import ModelConfig
from ..model import CharLSTM
from ..vocab import Vocab

MAX_MOMENTS = 20  # about every 5% of a run once it has been thinned

Packed = tuple[torch.Tensor, torch.Tensor | None]  # int8 rows and their float32 scales, or a float32 vector


def pack(weights: dict[str, torch.Tensor]) -> dict[str, Packed]:
    """Each matrix as int8 with one scale per row (``row ≈ q * scale``); vectors (biases) stay float32."""
    packed: dict[str, tuple[torch.Tensor, torch.Tensor | None]] = {}
    for name, w in weights.items():
        w = w.detach().float().cpu()
        if w.dim() < 2:
            packed[name] = (w.clone(), None)
            continue
        # one scale per row: the row's largest magnitude maps to 127, so each row keeps its own precision
        scale = w.abs().amax(dim=1).clamp_min(1e-12) / 127.0  # (rows,)
        packed[name] = (torch.round(w / scale[:, None]).to(torch.int8), scale)
    return packed


def unpack(packed: dict[str, Packed]) -> dict[str, torch.Tensor]:
    """The float32 weights back from :func:`pack`."""
    return {name: q if scale is None else q.float() * scale[:, None] for name, (q, scale) in packed.items()}


@dataclass(frozen=True)
class Moment:
    """The model at ``elapsed`` seconds of training (step ``step``), with what was measured then."""

    elapsed: float
    step: int
    val_bpc: float | None
    sample: str | None
    vocab: Vocab  # the vocabulary then (it may grow later, when a continuation meets new characters)
    config: ModelConfig
    weights: dict[str, Packed]

    @property
    def nbytes(self) -> int:
        return sum(q.nbytes + (0 if s is None else s.nbytes) for q, s in self.weights.values())

    def model(self) -> CharLSTM:
        """A fresh model with this moment's weights, ready for evaluation."""
        model = CharLSTM(self.config, self.vocab.size)
        model.load_state_dict(unpack(self.weights))
        return model.eval()

    def describe(self) -> str:
        """ "12 s · 2.41 bits/char": how the app lists a moment."""
        bpc = f" · {self.val_bpc:.2f} bits/char" if self.val_bpc is not None else ""
        return f"{self.elapsed:.1f} s{bpc}"


class Timeline:
    """The moments of one run, bounded in count and bytes; moments are added in training order."""

    def __init__(self, max_bytes: int, max_count: int = MAX_MOMENTS) -> None:
        if max_count < 2:
            raise ValueError("a timeline keeps at least two moments (the first and the latest)")
        self.max_bytes, self.max_count = max_bytes, max_count
        self.moments: list[Moment] = []

    def __len__(self) -> int:
        return len(self.moments)

    @property
    def nbytes(self) -> int:
        return sum(m.nbytes for m in self.moments)

    def add(
        self,
        model: CharLSTM,
        vocab: Vocab,
        elapsed: float,
        step: int,
        val_bpc: float | None = None,
        sample: str | None = None,
    ) -> Moment | None:
        """Snapshot ``model`` at ``elapsed`` seconds; None when one moment alone would not fit in the budget.

        A moment at the same time as the latest (no training in between) replaces it."""
        moment = Moment(elapsed, step, val_bpc, sample, vocab, model.config, pack(model.state_dict()))
        if moment.nbytes > self.max_bytes // 2:  # not even the first and the latest would fit
            return None
        if self.moments and elapsed <= self.moments[-1].elapsed:
            self.moments.pop()
        self.moments.append(moment)
        while len(self.moments) > self.max_count or self.nbytes > self.max_bytes:
            self._thin()
        return moment

    def _thin(self) -> None:
        # Drop the inner moment whose neighbours are closest in time: what is kept stays evenly spread.
        times = [m.elapsed for m in self.moments]
        inner = range(1, len(times) - 1)
        del self.moments[min(inner, key=lambda i: times[i + 1] - times[i - 1])]

    def nearest(self, seconds: float) -> Moment:
        """The moment closest to ``seconds`` of training (the earliest on a tie)."""
        if not self.moments:
            raise LookupError("this run has no moments yet: train first")
        times = [m.elapsed for m in self.moments]
        i = bisect.bisect_left(times, seconds)
        candidates = [j for j in (i - 1, i) if 0 <= j < len(times)]
        return self.moments[min(candidates, key=lambda j: (abs(times[j] - seconds), j))]

    def model_at(self, seconds: float) -> tuple[CharLSTM, Vocab, Moment]:
        """The model as it was at the moment closest to ``seconds``, with its vocabulary and the moment."""
        moment = self.nearest(seconds)
        return moment.model(), moment.vocab, moment
