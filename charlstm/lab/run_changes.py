"""Comparing runs: what a run was (where it started, its settings, its corpus) and what changed from the one before.

The app's loss plot keeps a visitor's last runs side by side, each labelled by :func:`label`: "hidden_size 256 →
512", "cell lstm → gru", "from the base model", "dropout 0 → 0.3", "another corpus". Names are the settings' own
(the same as the CLI flags and the checkpoint), so a label reads the same everywhere.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

from ..config import ModelConfig, TrainConfig

# The settings a learner changes between runs, in the order a label lists them (the rest stay internal).
COMPARED = ("hidden_size", "num_layers", "embedding_size", "dropout", "seq_len", "batch_size", "learning_rate")
STARTS = {"scratch": "random weights", "base": "the base model", "multilingual": "the multilingual base model"}


@dataclass(frozen=True)
class RunSummary:
    """One run's identity: its start, its model and training settings, and a fingerprint of its corpus."""

    init: str  # "scratch", "base", "multilingual" or a checkpoint's file name
    model: ModelConfig
    train: TrainConfig
    corpus_chars: int
    corpus_digest: str  # a short hash: "another corpus" without keeping the text

    @property
    def settings(self) -> dict[str, float]:
        both = asdict(self.model) | asdict(self.train)
        return {name: both[name] for name in COMPARED}

    @property
    def start(self) -> str:
        return STARTS.get(self.init, self.init)


def summarize(init: str, model: ModelConfig, train: TrainConfig, text: str) -> RunSummary:
    """The summary of a run on ``text``."""
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()
    return RunSummary(init, model, train, len(text), digest)


def changes(before: RunSummary | None, after: RunSummary) -> list[str]:
    """What differs from ``before`` to ``after``, in words; empty when nothing does."""
    if before is None:
        return []
    found = []
    if before.init != after.init:
        found.append(f"from {after.start}")
    if before.corpus_digest != after.corpus_digest:
        found.append(f"another corpus ({after.corpus_chars:,} characters)")
    if before.model.cell != after.model.cell:
        found.append(f"cell {before.model.cell} → {after.model.cell}")
    old, new = before.settings, after.settings
    found += [f"{name} {old[name]:g} → {new[name]:g}" for name in COMPARED if old[name] != new[name]]
    if before.train.seconds != after.train.seconds and after.train.seconds is not None:
        found.append(f"budget {before.train.seconds or 0:g} s → {after.train.seconds:g} s")
    if before.train.keep_best != after.train.keep_best:
        found.append("keep the best weights" if after.train.keep_best else "keep the last weights")
    return found


def label(before: RunSummary | None, after: RunSummary) -> str:
    """A run's label: its changes from the run before, "first run", or "the same settings again"."""
    if before is None:
        return f"first run, from {after.start}"
    return ", ".join(changes(before, after)) or "the same settings again"
