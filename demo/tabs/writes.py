"""③ It writes: what the visitor's model writes, in the path at the top of the page.

While a run trains, the newest sample (one per evaluation); once it ends, a longer text from the model, with every
passage copied word for word from the training text marked. When the run's best moment on held-out text is not
its end, two models are worth writing with, and the learner picks in one click:

- **knows your text**: the latest weights, which write with the text's own words and names (and copy it in
  places: the share is said);
- **best on text it has not seen**: the weights from the moment the held-out 10% was predicted best, which have
  learned how the text is written rather than the text itself.

Either becomes "your model" for Learn, Generate, Guess and Inside (through the time machine's moments,
:mod:`demo.tabs.time_machine`). The writing is the library's (:func:`charlstm.sampling.sample`,
:class:`charlstm.lab.copying.CopyIndex`); this module only chooses and shows.
"""

from __future__ import annotations

import html
import random
from dataclasses import dataclass

import gradio as gr
import torch

from charlstm.config import SampleConfig
from charlstm.lab.copying import MIN_COPY
from charlstm.lab.time_machine import Moment
from charlstm.model import CharLSTM
from charlstm.sampling import sample
from charlstm.vocab import Vocab

from ..drawing.views import copied_html
from ..server import checks, scheduling, sessions
from ..server.sessions import Session
from . import time_machine

LENGTH = 400  # characters written after a run: a paragraph, enough to see its words and whether it copies
SEED = SampleConfig().seed  # the same random numbers for both choices: only the weights differ
NOW, OTHER = "now", "other"  # the pick's values: the model as the run left it, and the other moment


def waiting() -> str:
    return (
        '<div class="writes-empty">Press <b>Train</b>: a model learns your text, and writes here as it learns, '
        "going on from where your text ends (a new sample every few seconds).</div>"
    )


def training() -> str:
    return '<div class="writes-empty">Learning… its first attempt appears after the first evaluation.</div>'


def sample_html(sample_text: str, elapsed: float, val_bpc: float) -> str:
    """The newest sample of a run in training, with when it was written."""
    return (
        f'<p class="writes-when">After {elapsed:.0f} s of training (its guesses on text it has not seen: '
        f"{val_bpc:.2f} bits per character, lower is better):</p>"
        f'<div class="writes-text">{html.escape(sample_text)}</div>'
    )


@dataclass(frozen=True)
class Written:
    text: str
    share: float | None  # the share copied from the training text (None: the text is not known)
    html: str


def write(session: Session, seed: int = SEED) -> Written:
    """A text of :data:`LENGTH` characters from the model the visitor uses now, its copies marked."""
    model, vocab, _ = session.active()
    return _write(session, model, vocab, seed)


def _write(session: Session, model: CharLSTM, vocab: Vocab, seed: int) -> Written:
    # it writes on from the end of the learner's text, unseen: in the text's language from the first word
    lead_in = session.lead_in()
    text = sample(model, vocab, lead_in, LENGTH, generator=torch.Generator().manual_seed(seed))
    index = session.copies()
    if index is None or not text:
        return Written(text, None, f'<div class="writes-text">{html.escape(text)}</div>')
    found = index.find(vocab.encode(text))
    words = "It goes on from where your text ends. " if lead_in else ""
    if found.spans:
        words += (
            f"<b>{found.share:.0%}</b> of it is copied word for word from your text (marked): the model knows "
            "those passages by heart."
        )
    else:
        words += f"No passage of {MIN_COPY} or more characters in it is copied word for word from your text."
    return Written(text, found.share, f'<p class="writes-when">{words}</p>' + copied_html(text, found.spans))


def _other(session: Session) -> Moment:
    """The moment the pick's "other" value names: the latest evaluation when keep-best put the best weights back
    ("now" is then the best), else the best moment ("now" is the latest)."""
    if session.kept_from is not None:
        return session.timeline.moments[-1]
    return session.timeline.nearest(session.best_at)


def choices(session: Session, now: Written) -> list[tuple[str, str]]:
    """The two models worth writing with after a run, or none when its best moment is its end; ``now`` is what
    the model as the run left it wrote (so the latest model's text is not written twice)."""
    if session.model is None or not session.timeline or session.best_at is None:
        return []
    end = time_machine.end_of(session)
    kept_best = session.kept_from is not None  # keep-best put the best weights back: "now" is the best moment
    other = _other(session)
    if abs(other.elapsed - (session.kept_from or end)) < 0.5:
        return []
    latest_share = _write(session, other.model(), other.vocab, SEED).share if kept_best else now.share
    best_bpc = session.best_bpc if kept_best else other.val_bpc
    copied = f", {latest_share:.0%} copied" if latest_share is not None else ""
    latest = f"knows your text ({(other.elapsed if kept_best else end):.0f} s{copied})"
    best = f"best on unseen text ({(session.kept_from if kept_best else other.elapsed):.0f} s"
    best += f", {best_bpc:.2f} bits/char)" if best_bpc is not None else ")"
    return [(latest, OTHER if kept_best else NOW), (best, NOW if kept_best else OTHER)]


def after_run(session: Session) -> tuple[str, dict]:
    """The writing at a run's end, and the pick between the two models (hidden when there is one)."""
    written = write(session)
    pair = choices(session, written)
    if not pair:
        return written.html, gr.update(choices=[], value=None, visible=False)
    return written.html, gr.update(choices=pair, value=NOW, visible=True)


def write_with(choice: str, request: gr.Request) -> tuple[str, str, str, float]:
    """Use the picked model for "your model" everywhere, and write with it."""
    if choice not in (NOW, OTHER):
        raise gr.Error(f"Write with must be {NOW!r} or {OTHER!r}, not {checks.shown(choice)}.")
    session = sessions.get(request)
    seconds = time_machine.end_of(session) if choice == NOW else _other(session).elapsed
    note, label, at = time_machine.choose_moment(seconds, request)
    return write(session).html, note, label, at


def write_again(request: gr.Request) -> str:
    """Another text from the model in use, with new random numbers."""
    session = sessions.get(request)
    session.check_lost()
    if session.model is None:
        raise gr.Error("Train a model first: press Train at the top of the page.")
    with scheduling.interactive():  # trainings pause between their updates while this runs
        return write(session, seed=random.randrange(2**31)).html
