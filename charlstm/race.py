"""The cell race: a plain RNN, a GRU and an LSTM trained on the same text for the same time, with the same number
of parameters, one after another, so their curves and samples can be compared fairly.

:func:`matched_configs` sizes each cell so its parameter count is within :data:`MATCH_TOLERANCE` of the
LSTM's (a GRU has three weight blocks per layer and a plain RNN one, against the LSTM's four, so they get wider
layers); :func:`race` trains them and yields ``(cell, progress)`` as they go; :func:`verdict` says who won.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from .config import MAX_HIDDEN, ModelConfig, auto_config
from .data import make_corpus, normalize_text
from .run import TRAINED_COPIES, TRAINING_COPIES, Plan, Run
from .training import Progress

CELLS = ("rnn", "gru", "lstm")  # the order they race in: the simplest first
MATCH_TOLERANCE = 0.05  # parameter counts within 5% of the LSTM's
NAMES = {"rnn": "the plain RNN", "gru": "the GRU", "lstm": "the LSTM"}


def matched_configs(reference: ModelConfig, vocab_size: int) -> dict[str, ModelConfig]:
    """Each cell's config with the reference's shape but a hidden size whose parameter count is closest to the
    LSTM's of the reference (within :data:`MATCH_TOLERANCE`, else ValueError)."""
    lstm = replace(reference, cell="lstm")
    target = lstm.parameters(vocab_size)
    configs = {}
    for cell in CELLS:
        sizes = (replace(reference, cell=cell, hidden_size=h) for h in range(8, MAX_HIDDEN + 1))
        best = min(sizes, key=lambda c: abs(c.parameters(vocab_size) - target))
        if abs(best.parameters(vocab_size) - target) > MATCH_TOLERANCE * target:
            raise ValueError(f"no {cell} size has within {MATCH_TOLERANCE:.0%} of the LSTM's {target:,} parameters")
        configs[cell] = best
    return configs


@dataclass(frozen=True)
class Entry:
    """One racer at the end: its settings, parameter count and best validation (bits per character)."""

    cell: str
    config: ModelConfig
    parameters: int
    best_bpc: float | None
    run: Run


def memory_bytes(text: str, seconds: float, cells: tuple[str, ...] = CELLS) -> int:
    """The most the race's models hold at once: the finished racers kept for the reach, and the last one while
    it trains (counted as :meth:`Run.memory_bytes` counts them)."""
    model_config, _ = auto_config(len(text), seconds / len(cells))
    vocab_size = make_corpus(normalize_text(text)).vocab.size
    params = [c.parameters(vocab_size) for c in matched_configs(model_config, vocab_size).values()]
    return sum(params) * 4 * TRAINED_COPIES + max(params) * 4 * (TRAINING_COPIES - TRAINED_COPIES)


def race(
    text: str, seconds: float, cells: tuple[str, ...] = CELLS, reference: ModelConfig | None = None
) -> Iterator[tuple[str, Progress | Entry]]:
    """Train each cell from random weights on ``text`` for ``seconds / len(cells)``, one after another; yield
    ``(cell, progress)`` while each trains and ``(cell, entry)`` when it is done. Every racer keeps its best
    weights (the same rule for all)."""
    share = seconds / len(cells)
    model_config, train_config = auto_config(len(text), share)
    reference = reference or model_config
    vocab_size = make_corpus(normalize_text(text)).vocab.size
    for cell, config in matched_configs(reference, vocab_size).items():
        the_plan = Plan("scratch", config, replace(train_config, seconds=share, steps=None, keep_best=True))
        run, corpus = Run.start(text, the_plan)
        best = None
        for p in run.train(corpus):
            if p.val_bpc is not None:
                best = p.val_bpc if best is None else min(best, p.val_bpc)
            yield cell, p
        yield cell, Entry(cell, config, config.parameters(run.vocab.size), best, run)


def verdict(entries: list[Entry]) -> str:
    """One sentence: who won and by how much (bits per character of held-out text, lower is better)."""
    scored = sorted((e for e in entries if e.best_bpc is not None), key=lambda e: e.best_bpc)
    if len(scored) < 2:
        return "Not enough racers finished to compare."
    first, second, last = scored[0], scored[1], scored[-1]
    return (
        f"{NAMES[first.cell][0].upper()}{NAMES[first.cell][1:]} won with {first.best_bpc:.2f} bits/char, "
        f"{second.best_bpc - first.best_bpc:.2f} ahead of {NAMES[second.cell]}"
        + (f" and {last.best_bpc - first.best_bpc:.2f} ahead of {NAMES[last.cell]}" if last is not second else "")
        + " on the held-out text, with the same time and the same number of parameters."
    )
