"""The cell race: a plain RNN, a GRU and an LSTM trained on the same text for the same time, with the same number
of parameters, one after another, so their curves and samples can be compared fairly.

:func:`matched_configs` sizes each cell so its parameter count is within :data:`MATCH_TOLERANCE` of the
LSTM's (a GRU has three weight blocks per layer and a plain RNN one, against the LSTM's four, so they get wider
layers); :func:`race` trains them and yields ``(cell, progress)`` as they go; :func:`verdict` says who won.
:func:`memory_text` makes the race's default text, one where memory pays within the race's time: on ordinary
text (tiny Shakespeare, the tutorial's) the three cells come out close after 30 seconds, because the next
character mostly depends on the last few and all three learn that first.
"""

from __future__ import annotations

import math
import random
import string
from collections.abc import Iterator
from dataclasses import dataclass, replace

from ..config import MAX_HIDDEN, ModelConfig, auto_config
from ..data import make_corpus, normalize_text
from ..run import TRAINED_COPIES, TRAINING_COPIES, Plan, Run
from ..training import Progress

CELLS = ("rnn", "gru", "lstm")  # the order they race in: the simplest first
MATCH_TOLERANCE = 0.05  # parameter counts within 5% of the LSTM's
NAMES = {"rnn": "the plain RNN", "gru": "the GRU", "lstm": "the LSTM"}
# Results closer than this are a tie: chance alone (random weights, batches, the CPU's share) moves a race by
# more. Measured: the same 30 s race on the tutorial's text, run twice on the shared 2-core machine, moved one
# cell's result by 0.35 to 0.62 bits/char (the plain RNN 3.76 and 3.92, the GRU 2.90 and 3.52, the LSTM 2.96 and
# 2.61), so a larger gap on the learner's text is worth a second race before it is called a finding.
TIE_BPC = 0.05
MEMORY_TEXT_CHARS = 20_000  # the race's default text: 18,000 characters to learn from, 2,000 held out
MEMORY_GAP = 30  # dots between a line's opening letter and its closing one: past a plain RNN's reach in 10 s
MEMORY_KEYS = string.ascii_lowercase
MIN_GAP, MAX_GAP = 1, 200


def memory_text(chars: int = MEMORY_TEXT_CHARS, gap: int = MEMORY_GAP, seed: int = 0) -> str:
    """A text with something to remember: lines like ``(q .............................. q)``, each opening with
    a random letter and closing with the same one after ``gap`` dots. Everything but the letters is predictable
    from the last few characters; the closing letter only from the opening one, ``gap + 2`` characters back. The
    same ``seed`` gives the same text."""
    if isinstance(gap, bool) or not isinstance(gap, int) or not MIN_GAP <= gap <= MAX_GAP:
        raise ValueError(f"gap must be a whole number from {MIN_GAP} to {MAX_GAP}, not {gap!r}")
    rng, lines, n = random.Random(seed), [], 0
    while n < chars:
        key = rng.choice(MEMORY_KEYS)
        lines.append(f"({key} {'.' * gap} {key})\n")
        n += len(lines[-1])
    return "".join(lines)[:chars]


def memory_floors(gap: int = MEMORY_GAP) -> tuple[float, float]:
    """The best bits/char possible on :func:`memory_text`: for a model that remembers the opening letter (only
    that letter is a surprise, once a line) and for one that does not (it also guesses the closing letter)."""
    surprise, line = math.log2(len(MEMORY_KEYS)), gap + 7  # "(", key, " ", dots, " ", key, ")", newline: gap + 7
    return surprise / line, 2 * surprise / line


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
    scored = sorted(((e.best_bpc, e.cell) for e in entries if e.best_bpc is not None), key=lambda s: s[0])
    if len(scored) < 2:
        return "Not enough racers finished to compare."
    (first, winner), (second, runner_up), (last, loser) = scored[0], scored[1], scored[-1]
    if last - first < TIE_BPC:
        return (
            f"A tie: all {len(scored)} within {TIE_BPC} bits/char ({first:.2f} to {last:.2f}), "
            "less than two races of the same cells differ by. On this text, in this time, the next character "
            "depends mostly on the last few, and every cell learns that first: memory does not pay yet."
        )
    return (
        f"{NAMES[winner][0].upper()}{NAMES[winner][1:]} won with {first:.2f} bits/char, "
        f"{second - first:.2f} ahead of {NAMES[runner_up]}"
        + (f" and {last - first:.2f} ahead of {NAMES[loser]}" if len(scored) > 2 else "")
        + " on the held-out text, with the same time and the same number of parameters."
    )
