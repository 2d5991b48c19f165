"""The training time machine: while a visitor's model trains, its weights are kept at moments of the run
(:class:`charlstm.lab.time_machine.Timeline`, within :data:`limits.MOMENTS_MEMORY_MB`). A slider on the Train tab
moves Learn, Generate and Inside to the model as it was at that moment; on the Train tab, the samples' moments
can be jumped to, and two moments write side by side from the same random seed ("eoa nhet" at 2 s, "the king
hath" at 60 s)."""

from __future__ import annotations

import gradio as gr
import torch

from charlstm.config import SampleConfig
from charlstm.lab.time_machine import Moment, Timeline
from charlstm.sampling import SamplingError, sample

from ..drawing import widgets
from ..server import checks, limits, scheduling, sessions
from ..server.sessions import Session

DEFAULTS = SampleConfig()
COMPARE_MAX_LENGTH = 1000  # characters per side
SLIDER_LABEL = "Time machine: your model after this many seconds of training"
SLIDER_INFO = "Learn, Generate and Inside use the model as it was then; at the right end, the model as it is now."
TRY_THIS = (
    "**Try this:** train for a minute, then write from the same seed at 2 s and at the end. Early on the model "
    "only knows which letters are common; spaces and short words come next; spelling and the text's layout last."
)


def new_timeline() -> Timeline:
    return Timeline(int(limits.MOMENTS_MEMORY_MB * 1024 * 1024))


def end_of(session: Session) -> float:
    """Seconds of training of the model as it is now (the right end of the slider)."""
    if session.rows:
        return session.rows[-1]["seconds"]
    return session.timeline.moments[-1].elapsed if session.timeline else 0.0


def _at(session: Session, seconds: float) -> Moment | None:
    """The moment closest to ``seconds``, or None for the model as it is now (the slider's right end, or
    nearer to the end than to any moment)."""
    end = end_of(session)
    if seconds >= end:  # the plot's seconds are rounded (3.0 where the last moment kept 3.0027): past it is now
        return None
    moment = session.timeline.nearest(seconds)
    return None if abs(end - seconds) <= abs(moment.elapsed - seconds) else moment


def _session_with_moments(request: gr.Request) -> Session:
    session = sessions.get(request)
    session.check_lost()
    if session.model is None or not session.timeline:
        raise gr.Error("The time machine keeps moments of your own training runs: train a model first (Train tab).")
    return session


def choose_moment(seconds: float, request: gr.Request) -> tuple[str, str, float]:
    """Make Learn, Generate and Inside use this session's model as it was after ``seconds`` of training."""
    seconds = checks.number(seconds, "The moment (seconds of training)", 0, 10**7)
    session = _session_with_moments(request)
    moment = _at(session, seconds)
    session.moment = None if moment is None else (moment, moment.model())
    session.use_own = True
    if moment is None:
        note = f"Learn, Generate and Inside use your model as it is now ({end_of(session):.1f} s of training)."
        at = end_of(session)
    else:
        bpc = f", validation {moment.val_bpc:.2f} bits/char" if moment.val_bpc is not None else ""
        note = f"Learn, Generate and Inside use your model as it was at **{moment.elapsed:.1f} s** of training{bpc}."
        at = moment.elapsed
    return note, sessions.OWN_LABEL, at


def compare_moments(
    seconds_a: float, seconds_b: float, seed_text: str, length: float, seed: float, request: gr.Request
) -> tuple[str, str, str]:
    """Samples from two moments of this session's run, with the same seed text, settings and random seed."""
    seed_text = checks.text(seed_text, "The seed text", limits.SEED_MAX_CHARS)
    seconds_a = checks.number(seconds_a, "The first moment (seconds)", 0, 10**7)
    seconds_b = checks.number(seconds_b, "The second moment (seconds)", 0, 10**7)
    length = checks.number(length, "The length", 1, COMPARE_MAX_LENGTH, integer=True)
    seed = checks.number(seed, "The random seed", 0, 2**53, integer=True)
    session = _session_with_moments(request)
    texts, when = [], []
    with scheduling.interactive():  # trainings pause between their updates while this runs
        for seconds in (seconds_a, seconds_b):
            moment = _at(session, seconds)
            model, vocab = (session.model, session.vocab) if moment is None else (moment.model(), moment.vocab)
            try:
                texts.append(sample(model, vocab, seed_text, length, generator=torch.Generator().manual_seed(seed)))
            except SamplingError as e:
                raise gr.Error(str(e)) from None
            when.append(f"as it is now ({end_of(session):.1f} s)" if moment is None else f"at {moment.describe()}")
    note = (
        f"First: your model {when[0]}. Second: your model {when[1]}. Both continue the same seed text with the same "
        f"random seed ({seed}) and temperature {DEFAULTS.temperature:g}: the only difference is how long the model "
        "had trained."
    )
    return texts[0], texts[1], note


def hidden() -> tuple:
    """The time machine's updates at a run's start: its slider and moments wait for the run's first moments."""
    return gr.update(visible=False), gr.update(choices=[], value=None), gr.skip(), gr.skip()


def updates(session: Session) -> tuple[dict, dict, dict, dict]:
    """The slider, the moments to jump to, and the two compare sliders, for the session's current run (hidden
    while it has none). When keep-best put back earlier weights, "now" says the moment they come from."""
    if session.model is None or not session.timeline:
        return (*hidden()[:2], gr.update(), gr.update())
    end = end_of(session)
    top = max(end, 0.1)  # a slider's maximum must pass its minimum, even for a run of no time at all
    at = end if session.moment is None else session.moment[0].elapsed
    moments = [(m.describe(), m.elapsed) for m in session.timeline.moments if m.elapsed < end]
    now = f"{end:.1f} s · now" if session.kept_from is None else f"now: the weights kept from {session.kept_from:.1f} s"
    if session.kept_from is not None and session.blend is not None:
        now += f", moved {1 - session.blend:.0%} of the way back toward the start"
    moments.append((now, end))
    first = session.timeline.moments[0].elapsed
    return (
        gr.update(maximum=top, value=at, visible=True),
        gr.update(choices=moments, value=at),
        gr.update(maximum=top, value=first),
        gr.update(maximum=top, value=top),
    )


def build() -> tuple[gr.Slider, gr.Markdown, gr.Radio, gr.Slider, gr.Slider]:
    """The Train tab's time machine: a slider over the run, the samples' moments to jump to, and two moments side
    by side; returns the slider, its note, the list of moments and the two compare sliders."""
    with gr.Accordion("Time machine: your model at any moment of its training", open=False, elem_id="time-machine"):
        gr.Markdown(TRY_THIS)
        moment = widgets.Slider(
            0, 1, value=1, step=0.1, label=SLIDER_LABEL, info=SLIDER_INFO, visible=False, elem_id="moment"
        )
        widgets.open_maximum(moment)  # its range is the visitor's run: the handler checks against that
        moment_note = gr.Markdown(label="Moment", elem_id="moment-note")
        jump = widgets.Radio(
            [],
            label="Use the model from a sample's moment (seconds of training · validation)",
            info="Learn, Generate and Inside follow; so does the slider above.",
            elem_id="moment-jump",
        )
        with gr.Row():
            a = widgets.Slider(0, 1, value=0, step=0.1, label="First moment (seconds)", elem_id="moment-a")
            b = widgets.Slider(0, 1, value=1, step=0.1, label="Second moment (seconds)", elem_id="moment-b")
        with gr.Row():
            seed_text = gr.Textbox("", label="Seed text (may be empty)", max_length=limits.SEED_MAX_CHARS, scale=3)
            length = widgets.Slider(
                1, COMPARE_MAX_LENGTH, value=200, step=1, label="Length (characters)", scale=2, min_width=160
            )
            seed = widgets.Number(DEFAULTS.seed, label="Random seed", precision=0, minimum=0, min_width=120)
        for side in (a, b):
            widgets.open_maximum(side)  # their range is the visitor's run: the handler checks against that
        go = gr.Button("Write from both moments", elem_id="compare-moments")
        with gr.Row():
            left = gr.Textbox(label="Your model at the first moment", lines=6, interactive=False, elem_id="moment-left")
            right = gr.Textbox(
                label="Your model at the second moment", lines=6, interactive=False, elem_id="moment-right"
            )
        note = gr.Markdown(label="Note")
    go.click(
        compare_moments,
        [a, b, seed_text, length, seed],
        [left, right, note],
        api_name="compare_moments",
        concurrency_id="generate",
        concurrency_limit=limits.CONCURRENT_GENERATIONS,
    )
    return moment, moment_note, jump, a, b
