"""Copying made visible: which parts of a generated text are copied verbatim from the training text.

A model that has memorised a small text writes long passages of it back word for word. Every run of at least
:data:`MIN_COPY` characters that also occurs in the training text is marked. The training text is indexed by
hashing each of its windows of that length (a sorted array of 64-bit hashes: 8 bytes per character, built in
a fraction of a second for a million characters); a generated window is copied when its hash is in the
index and the characters really match.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

MIN_COPY = 20  # characters: shorter repeats ("of the ", "\n\nKING ") happen by chance in any text
_BASE = np.uint64(1_000_003)


@dataclass(frozen=True)
class Copied:
    """The copied spans of a text (start, end) in characters, and the share of the text they cover."""

    spans: list[tuple[int, int]]
    share: float


def _window_hashes(ids: np.ndarray, width: int) -> np.ndarray:
    """A polynomial hash of every window of ``width`` ids (wrapping 64-bit arithmetic)."""
    n = len(ids) - width + 1
    if n <= 0:
        return np.empty(0, dtype=np.uint64)
    values = ids.astype(np.uint64) + np.uint64(1)
    h = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(width):
            h = h * _BASE + values[j : j + n]
    return h


class CopyIndex:
    """An index of a training text's windows; ``find`` marks what a generated text copies from it."""

    def __init__(self, ids: torch.Tensor | np.ndarray, width: int = MIN_COPY) -> None:
        ids = np.asarray(ids, dtype=np.int16)  # vocabulary ids are below 1,025
        self.width = width
        self.hashes = np.sort(_window_hashes(ids, width))
        self.text_bytes = ids.tobytes()

    def find(self, ids: torch.Tensor | np.ndarray) -> Copied:
        """Spans of ``ids`` (encoded with the same vocabulary) of at least ``width`` ids found in the text."""
        ids = np.asarray(ids, dtype=np.int16)
        hashes = _window_hashes(ids, self.width)
        if len(hashes) == 0 or len(self.hashes) == 0:
            return Copied([], 0.0)
        where = np.minimum(np.searchsorted(self.hashes, hashes), len(self.hashes) - 1)
        candidates = np.flatnonzero(self.hashes[where] == hashes)
        copied = np.zeros(len(ids), dtype=bool)
        for i in candidates:  # confirm: a hash match is almost always a real one, but check the characters
            if ids[i : i + self.width].tobytes() in self.text_bytes:
                copied[i : i + self.width] = True
        spans = _runs(copied)
        return Copied(spans, float(copied.mean()))


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of True values."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]
