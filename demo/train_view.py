"""What a training run looks like on the Train tab: the status in words, the loss-plot rows and the samples, and
the moments the time machine keeps. Plain formatting of progress records (the plot itself: :mod:`demo.runs_view`)."""

from __future__ import annotations

import math

from charlstm.evaluation import LN2
from charlstm.training import Progress

from .sessions import Session


def status_text(p: Progress, budget: float, session: Session, notes: dict[str, str]) -> str:
    """One line of where the run stands, then every note of the run (its start, warnings, how it ended)."""
    best = f" · best validation **{session.best_bpc:.3f} bits/char**" if session.best_bpc is not None else ""
    line = (
        f"Step {p.step:,} · {p.elapsed:.1f} s trained (this run: {budget:g} s budget) · "
        f"{p.chars_per_s / 1000:.1f}k characters/s{best}"
    )
    return "\n\n".join([line, *notes.values()])


def record(session: Session, p: Progress, notes: dict[str, str], keep_best: bool) -> None:
    """Add a progress record to the session's plot and samples, and its message to the run's notes.

    Notes are kept by kind, so a divergence earlier in the run stays on screen when the run ends.
    """
    if p.train_loss is not None:
        session.rows.append({"seconds": round(p.elapsed, 2), "bpc": p.train_loss / LN2, "series": "train"})
    if p.val_bpc is not None and math.isfinite(p.val_bpc):
        session.rows.append({"seconds": round(p.elapsed, 2), "bpc": p.val_bpc, "series": "validation"})
        session.best_bpc = min(session.best_bpc or math.inf, p.val_bpc)
        session.samples += f"[{p.elapsed:.0f} s · validation {p.val_bpc:.2f} bits/char]\n{p.sample}\n\n"
        session.publish()
        if session.timeline is not None:  # the time machine: the end is the model kept (keep-best's, maybe)
            session.timeline.add(session.run.model, session.run.vocab, p.elapsed, p.step, p.val_bpc, p.sample)
    if p.best_elapsed is not None:
        session.best_at = p.best_elapsed
    if p.memorising and p.kind == "eval":
        then = "Keep-best will end with the weights from then." if keep_best else "Keep-last will end with the latest."
        notes["memorising"] = (
            f"**Memorising.** Validation has risen since its best ({p.best_bpc:.2f} bits/char at "
            f"{p.best_elapsed:.0f} s) while the training loss keeps falling: the model has started learning "
            f"this text by heart instead of how it is written. {then}"
        )
    if p.message:
        if p.kind == "done":  # the final message tells the whole story of the run
            notes.pop("memorising", None)
        notes[p.kind] = f"**Note:** {p.message}" if p.kind == "rollback" else p.message[0].upper() + p.message[1:] + "."
