"""What a training run looks like on the Train tab: the status in words, the loss-plot rows and the samples, and
the moments the time machine keeps. Plain formatting of progress records (the plot itself:
:mod:`demo.tabs.runs_view`)."""

from __future__ import annotations

import math

from charlstm.evaluation import LN2
from charlstm.training import Progress

from ..server.sessions import Session
from .writes import sample_html


def status_text(p: Progress, budget: float, session: Session, notes: dict[str, str]) -> str:
    """One line of where the run stands, then every note of the run (what it learns, warnings, how it ended)."""
    best = ""
    if session.best_bpc is not None:  # validation: the held-out text, which the model never learns from
        best = f" · best validation **{session.best_bpc:.3f} bits/char** (on held-out text; lower is better)"
    line = f"Step {p.step:,} · {p.elapsed:.1f} s trained (this run: {budget:g} s budget){best}"
    # how the run ended first: the status has a fixed height (nothing below it moves), so the rest may scroll
    ordered = [notes["end"]] if "end" in notes else []
    ordered += [note for kind, note in notes.items() if kind != "end"]
    return "\n\n".join([line, *ordered])


def samples_text(session: Session) -> str:
    """Every sample of the run, newest first (the newest is the one to read)."""
    return "\n\n".join(reversed(session.samples))


def record(session: Session, p: Progress, notes: dict[str, str], keep_best: bool) -> str | None:
    """Add a progress record to the session's plot and samples, and its message to the run's notes; returns the
    newest sample as ③ shows it, on an evaluation.

    Notes are kept by kind, so a divergence earlier in the run stays on screen when the run ends. When keep-best
    put earlier weights back at the end, the plot, the time machine and the samples say the moment they come
    from: no validation point is added at the end (it would draw a drop to the best value that no training
    made), and no moment (the kept weights are the best moment's, already kept). When keep-best then blended
    them back toward the start, the time machine's "now" says so, and the run's best is the blend's.
    """
    newest = None
    if p.train_loss is not None:
        session.rows.append({"seconds": round(p.elapsed, 2), "bpc": p.train_loss / LN2, "series": "train"})
    if p.kept_from is not None:
        session.kept_from, session.blend = p.kept_from, p.blend
        if p.val_bpc is not None:  # a blend scores better than the best moment: the run's best is now the model's
            session.best_bpc = min(session.best_bpc or math.inf, p.val_bpc)
        session.publish()
    elif p.val_bpc is not None and math.isfinite(p.val_bpc):
        session.rows.append({"seconds": round(p.elapsed, 2), "bpc": p.val_bpc, "series": "validation"})
        session.best_bpc = min(session.best_bpc or math.inf, p.val_bpc)
        session.samples.append(f"[{p.elapsed:.0f} s · validation {p.val_bpc:.2f} bits/char]\n{p.sample}")
        newest = sample_html(p.sample or "", p.elapsed, p.val_bpc)
        session.publish()
        if session.timeline is not None:  # the time machine
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
    return newest
