"""The path across the top of the page: ① your text → ② train → ③ it writes, visible from every tab.

A newcomer sees what to do first and where it leads without scrolling: the text box (the one corpus of the page:
presets and uploads on the Corpus tab fill it), Train / Stop / Continue, and the model's writing, which streams in
at each evaluation and ends, after a run, with a longer text whose passages copied from the training text are
marked. The widgets live here; Train's events are wired by :mod:`demo.tabs.train_tab`, the text's by
:mod:`demo.tabs.corpus_tab`.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from ..server import limits
from . import writes

PLACEHOLDER = "Paste any text here (Ctrl+V): a story, lyrics, letters, code… then press Train."


@dataclass
class Path:
    """The strip's widgets, handed to the tabs that wire them."""

    text: gr.Textbox  # the corpus
    summary: gr.Markdown  # "your text: N characters (M to learn from, K held out to check)" and warnings
    train: gr.Button
    stop: gr.Button
    more: gr.Button  # Continue
    plan: gr.Markdown  # under the buttons: the budget and where the run starts
    stopped: gr.Markdown  # Stop's answer
    writes: gr.HTML  # ③: the newest sample while training, then a longer text with its copies marked
    pick: gr.Dropdown  # after a run whose best moment is not its end: which of the two writes (and is "your model")
    again: gr.Button  # write another text with the chosen model


def build(first_text: str, first_summary: str, first_plan: str) -> Path:
    """The strip, filled with the first preset's text, its summary and the default run's plan."""
    with gr.Row(elem_id="path", equal_height=False):
        with gr.Column(scale=5, min_width=280, elem_id="path-text"):
            text = gr.Textbox(
                first_text,
                label="① Your text",
                placeholder=PLACEHOLDER,
                lines=2,
                max_lines=2,
                max_length=limits.CORPUS_MAX_CHARS,
                elem_id="corpus-text",
            )
            summary = gr.Markdown(first_summary, label="Summary", elem_id="corpus-summary")
        with gr.Column(scale=2, min_width=180, elem_id="path-train"):
            gr.Markdown("② Train on it", elem_classes=["path-label"])
            train = gr.Button("Train ▶", variant="primary", size="lg", elem_id="train-button")
            with gr.Row(elem_id="path-buttons"):
                stop = gr.Button(
                    "Stop", variant="stop", size="sm", interactive=False, min_width=60, elem_id="stop-button"
                )
                more = gr.Button("Continue", size="sm", interactive=False, min_width=60, elem_id="continue-button")
            plan = gr.Markdown(first_plan, elem_id="path-plan", elem_classes=["path-note"])
            stopped = gr.Markdown(label="Stop", elem_id="stop-note", elem_classes=["path-note"])  # Stop's answer
        with gr.Column(scale=5, min_width=280, elem_id="path-writes"):
            # the label, the pick between two models and "Write again" share one row of fixed height, so the
            # path never grows when they appear
            with gr.Row(elem_id="path-pick", equal_height=True):
                gr.Markdown("③ It writes", elem_classes=["path-label"])
                pick = gr.Dropdown(
                    [],
                    label="Write with",
                    show_label=False,
                    visible=False,
                    container=False,
                    elem_id="write-with",
                    scale=4,
                    min_width=160,
                )
                again = gr.Button("Write again", size="sm", interactive=False, min_width=90, elem_id="write-again")
            out = gr.HTML(writes.waiting(), label="It writes", elem_id="it-writes", padding=False)
    return Path(text, summary, train, stop, more, plan, stopped, out, pick, again)
