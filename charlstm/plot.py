"""Loss curves as a PNG, with matplotlib's file-only backend (no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from .evaluation import LN2
from .training import Progress

# Okabe-Ito colours: distinguishable with every common form of colour blindness.
TRAIN_COLOR, VAL_COLOR = "#0072B2", "#D55E00"


def save_loss_plot(records: Sequence[Progress], path: str | Path) -> Path:
    """Plot train and validation bits per character against training seconds."""
    train = [(r.elapsed, r.train_loss / LN2) for r in records if r.train_loss is not None]
    val = [(r.elapsed, r.val_bpc) for r in records if r.val_bpc is not None]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    if train:
        ax.plot(*zip(*train), color=TRAIN_COLOR, label="train", linewidth=1)
    if val:
        ax.plot(*zip(*val), color=VAL_COLOR, label="validation", marker="o", markersize=3, linestyle="--")
    ax.set_xlabel("training seconds")
    ax.set_ylabel("bits per character")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
