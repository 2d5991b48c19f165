"""Learn tab: the LSTM cell diagram filled with the current model's real values, one character at a time."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from charlstm.explain import cell_view

from . import checks, limits, sessions, widgets
from .views import cell_svg, describe_cell, show_char

EXPLANATION = (Path(__file__).parent / "text" / "learn.md").read_text(encoding="utf-8")
LATEX = [{"left": "$$", "right": "$$", "display": True}, {"left": "$", "right": "$", "display": False}]
EXAMPLE = "To be, or not to be, that is the question."


def cell_values(text: str, step: float, layer: float, request: gr.Request):
    """The diagram, top-5 guesses, summary and raw numbers for ``text`` at ``step`` (0-based)."""
    text = checks.text(text, "The text", limits.SEED_MAX_CHARS)
    if not text:
        raise gr.Error("Type some text to step through.")
    step = checks.number(step, "The step", 0, len(text) - 1 if len(text) > 1 else 0, integer=True)
    model, vocab, label = sessions.get(request).active()
    layer = checks.number(layer, "The layer", 1, model.config.num_layers, integer=True) - 1
    view = cell_view(model, vocab, text, step, layer)
    guesses = {f"“{show_char(c)}”": p for c, p in view.guesses}
    numbers = {
        "model": label,
        "step": view.step,
        "char": view.char,
        "layer": view.layer + 1,
        "means": view.means,
        "values": view.values,
        "guesses": view.guesses,
    }
    return (
        cell_svg(view),
        guesses,
        describe_cell(view) + f" (Model: {label}.)",
        numbers,
        gr.update(maximum=max(1, len(text) - 1), value=view.step),
    )


# Stepping runs in the browser: no server round trip before the diagram request.
PREVIOUS = "(step, text) => Math.max(0, (step || 0) - 1)"
NEXT = "(step, text) => Math.min(Math.max(0, (text || '').length - 1), (step || 0) + 1)"


def build() -> None:
    with gr.Tab("Learn", id="learn"):
        gr.Markdown(EXPLANATION, latex_delimiters=LATEX)
        with gr.Row():
            text = gr.Textbox(EXAMPLE, label="Text to step through", max_length=limits.SEED_MAX_CHARS, scale=4)
            layer = widgets.Number(
                1,
                label="Layer",
                precision=0,
                minimum=1,
                maximum=limits.MODEL_MAX_LAYERS,
                info="Which LSTM layer to show (1 = nearest the input).",
            )
        with gr.Row():
            back = gr.Button("◀ Previous character", size="sm")
            step = widgets.Slider(0, len(EXAMPLE) - 1, value=0, step=1, label="Step (character position)")
            step.check_maximum = False  # the handler checks the step against the text it is sent
            forward = gr.Button("Next character ▶", size="sm")
        with gr.Row():
            diagram = gr.HTML(label="The cell at this step")
            guesses = gr.Label(num_top_classes=5, label="What the model expects next", scale=0, min_width=220)
        summary = gr.Markdown(elem_id="learn-summary")
        with gr.Accordion("The numbers (JSON)", open=False):
            numbers = gr.JSON(label="Gate values, means and guesses at this step")

        outputs = [diagram, guesses, summary, numbers, step]
        inputs = [text, step, layer]
        update = {"fn": cell_values, "inputs": inputs, "outputs": outputs, "concurrency_id": "light"}
        step.release(api_name="cell_values", **update)
        gr.on([text.submit, layer.change], api_visibility="private", **update)
        for button, js in ((back, PREVIOUS), (forward, NEXT)):
            button.click(None, [step, text], step, js=js).then(api_visibility="private", **update)
        return update
