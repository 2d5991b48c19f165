"""Generate tab: continue a seed text with the chosen model, streaming; show the next-character probabilities
and how surprising each character was to the model."""

from __future__ import annotations

import time

import gradio as gr
import pandas as pd
import torch

from charlstm.config import SampleConfig
from charlstm.lab.copying import MIN_COPY
from charlstm.lab.explain import surprise
from charlstm.sampling import SamplingError, generate, top_chars

from ..drawing import widgets
from ..drawing.views import copied_html, show_char, surprise_html
from ..server import checks, limits, presence, scheduling, sessions

DEFAULTS = SampleConfig()
# name -> (label, minimum, maximum, step, one-line help) of the sliders
SLIDERS = {
    "length": (
        "Length (characters)",
        1,
        limits.GENERATE_MAX_LENGTH,
        1,
        f"How much to write, up to {limits.GENERATE_MAX_LENGTH:,}.",
    ),
    "temperature": ("Temperature", 0, 2, 0.05, "0 always takes the most likely character; higher is wilder."),
    "top_k": ("Top-k", 0, 100, 1, "Sample only among the k most likely characters (0 = all)."),
    "top_p": ("Top-p", 0.05, 1, 0.05, "Sample among the most likely characters covering this probability."),
}
# What the server accepts: the widgets' ranges (Gradio refuses values beyond a slider's range before the queue)
ACCEPTED = {name: (label, low, high) for name, (label, low, high, _, _) in SLIDERS.items()} | {
    "seed": ("The random seed", 0, 2**53)
}
INTEGERS = {"length", "top_k", "seed"}
STREAM_INTERVAL = 0.1  # seconds between text updates: smooth to watch, light on a busy server


def _bars(probs: torch.Tensor, vocab) -> tuple[pd.DataFrame, str]:
    """The ten likeliest next characters as bar-chart rows, and the same in words."""
    top = top_chars(probs, vocab, 10)
    rows = pd.DataFrame({"character": [show_char(c) for c, _ in top], "probability": [p for _, p in top]})
    return rows, "Most likely next: " + ", ".join(f"“{show_char(c)}” {p:.0%}" for c, p in top[:5]) + "."


def _surprise_view(text: str, request: gr.Request) -> tuple[str, str]:
    model, vocab, label = sessions.get(request).active()
    result = surprise(model, vocab, text)
    if not result.chars:
        return "", "Nothing to score."
    worst = sorted(zip(result.chars, result.probs), key=lambda cp: cp[1])[:3]
    summary = (
        f"Mean surprise {result.mean_bits:.2f} bits per character under {label} "
        f"(darker = more surprising; hover a character for its probability). Most surprising: "
        + ", ".join(f"“{show_char(c)}” ({p:.1%})" for c, p in worst)
        + "."
    )
    return surprise_html(result), summary


def generate_text(
    seed_text: str = "",
    length: float = DEFAULTS.length,
    temperature: float = DEFAULTS.temperature,
    top_k: float = DEFAULTS.top_k,
    top_p: float = DEFAULTS.top_p,
    seed: float = DEFAULTS.seed,
    request: gr.Request = None,
):
    """Stream a continuation of ``seed_text``; then the next-character bars and the surprise view."""
    seed_text = checks.text(seed_text, "The seed text", limits.SEED_MAX_CHARS)
    given = {"length": length, "temperature": temperature, "top_k": top_k, "top_p": top_p, "seed": seed}
    length, temperature, top_k, top_p, seed = (
        checks.number(given[name], label, low, high, integer=name in INTEGERS)
        for name, (label, low, high) in ACCEPTED.items()
    )
    presence.require_reader(sessions.key_of(request), "this generation")
    model, vocab, label = sessions.get(request).active()
    unknown = vocab.unknown_in(seed_text)
    note = ""
    if unknown and unknown == set(seed_text):
        note = "The model knows none of the seed's characters: it reads them all as “unknown”. "
    elif unknown:
        note = (
            f"The model has never seen {' '.join(sorted(map(show_char, unknown)))[:80]}: it reads them as “unknown”. "
        )
    # the first update only after STREAM_INTERVAL: a short text arrives whole, without a round trip through the
    # server's event loop and a thread for a first character
    text, last, final = "", time.perf_counter(), None
    with scheduling.interactive():  # trainings pause between their updates while this runs
        try:
            for step in generate(
                model, vocab, seed_text, length, temperature, top_k, top_p, torch.Generator().manual_seed(seed)
            ):
                text += step.char
                final = step  # its distribution over the next character is drawn once, after the last
                if time.perf_counter() - last > STREAM_INTERVAL:
                    last = time.perf_counter()
                    yield text, gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        except SamplingError as e:
            raise gr.Error(str(e)) from None
        shaded, summary = _surprise_view(seed_text + text, request)
        copied, copied_note = _copied_view(text, request)
    bars, in_words = _bars(None if final is None else final.next_probs, vocab)
    yield (
        text,
        bars,
        f"{note}Generated {len(text):,} characters with {label}. {in_words}",
        shaded,
        summary,
        (copied_note + copied),
    )


def _copied_view(text: str, request: gr.Request) -> tuple[str, str]:
    """The generated text with the passages copied verbatim from the training text marked, and a summary."""
    session = sessions.get(request)
    index = session.copies()
    _, vocab, _ = session.active()
    if index is None:
        return "", "<p>The training text of an uploaded model is not known here, so copying cannot be checked.</p>"
    if not text:
        return "", ""
    found = index.find(vocab.encode(text))
    long = f"{len(found.spans)} passage{'s' if len(found.spans) != 1 else ''} of {MIN_COPY}+ characters"
    words = (
        f"<p><strong>{found.share:.0%}</strong> of this text ({long}) is copied word for word from the training "
        "text (marked): the model has learned those passages by heart. A model that writes in a text's style "
        "without copying it has learned how the text is written.</p>"
        if found.spans
        else f"<p>No passage of {MIN_COPY} or more characters is copied from the training text.</p>"
    )
    return (copied_html(text, found.spans) if found.spans else ""), words


def score_text(text: str, request: gr.Request) -> tuple[str, str]:
    """The surprise view for any pasted text."""
    text = checks.text(text, "The text", limits.SEED_MAX_CHARS * 5)
    if not text:
        raise gr.Error("Paste some text to score.")
    scheduling.begin_analysis(request)
    return _surprise_view(text, request)


def build() -> None:
    with gr.Tab("Generate", id="generate", elem_id="generate-panel"):
        with gr.Row():
            with gr.Column(scale=2):
                seed_text = gr.Textbox(
                    "ROMEO:\n",
                    label="Seed text",
                    lines=3,
                    max_length=limits.SEED_MAX_CHARS,
                    info="The model reads this first, then continues it.",
                )
                # Generate right under the seed text: on a projector it stays on the first screen
                with gr.Row():
                    go = gr.Button("Generate", variant="primary", elem_id="generate-button")
                    halt = gr.Button("Stop", interactive=False, elem_id="generate-stop")
                settings = [
                    widgets.Slider(low, high, value=getattr(DEFAULTS, name), step=step, label=label, info=info)
                    for name, (label, low, high, step, info) in SLIDERS.items()
                ]
                seed = widgets.Number(
                    DEFAULTS.seed,
                    label="Random seed",
                    precision=0,
                    minimum=0,
                    info="The same seed and settings give the same text.",
                )
            with gr.Column(scale=3):
                output = gr.Textbox(
                    label="Generated text",
                    lines=12,
                    max_lines=20,
                    elem_id="generated",
                    interactive=False,
                    buttons=["copy"],
                )
                note = gr.Markdown(label="Note", elem_id="generate-note")
                bars = gr.BarPlot(
                    None,  # not an empty DataFrame: that would fix the axis types wrongly and no bar would show
                    x="character",
                    y="probability",
                    sort="-y",
                    y_lim=[0, 1],
                    label="Next-character probabilities after the last character",
                    elem_id="next-chars",
                )
        with gr.Accordion("Copied from the training text?", open=True):
            copied = gr.HTML(label="Copied passages", elem_id="copied")
        gr.Markdown("### Surprise: how unlikely the model found each character")
        shaded = gr.HTML(label="Surprise", elem_id="surprise")
        summary = gr.Markdown(label="Surprise summary")
        with gr.Accordion("Score any text", open=False):
            pasted = gr.Textbox(label="Text to score", lines=4, max_length=limits.SEED_MAX_CHARS * 5)
            score = gr.Button("Show surprise")
        event = go.click(
            generate_text,
            [seed_text, *settings, seed],
            [output, bars, note, shaded, summary, copied],
            api_name="generate",
            concurrency_id="generate",
            concurrency_limit=limits.CONCURRENT_GENERATIONS,
            validator=checks.text_validator("The seed text", limits.SEED_MAX_CHARS),
        )
        # Stop is live only while there is something to stop
        go.click(lambda: gr.update(interactive=True, variant="stop"), None, halt, queue=False, api_visibility="private")
        event.then(lambda: gr.update(interactive=False, variant="secondary"), None, halt, api_visibility="private")
        halt.click(None, None, None, cancels=[event]).then(
            lambda: gr.update(interactive=False, variant="secondary"), None, halt, api_visibility="private"
        )
        score.click(score_text, pasted, [shaded, summary], api_name="surprise", **scheduling.ANALYSIS)
