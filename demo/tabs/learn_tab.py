"""Learn tab: the LSTM cell diagram filled with the current model's real values, one character at a time.

Characters are counted from 1 everywhere (the slider, the summary, the API and its messages). The controls and the
diagram come first, so that on a projector pressing "Next" changes what is on screen; the explanation follows.
Keys (demo/keys.js): ←/→ step, Home/End jump, Space plays and pauses, from anywhere in the tab but a text box.
"""

from __future__ import annotations

import json
from pathlib import Path

import gradio as gr

from charlstm.lab.explain import cell_view

from ..drawing import widgets
from ..drawing.gated_view import describe_gated, gated_svg
from ..drawing.views import cell_svg, describe_cell, show_char
from ..server import checks, limits, sessions

EXPLANATION = (Path(__file__).parent.parent / "static" / "text" / "learn.md").read_text(encoding="utf-8")
LATEX = [{"left": "$$", "right": "$$", "display": True}, {"left": "$", "right": "$", "display": False}]
EXAMPLE = "To be, or not to be, that is the question."


def cell_values(text: str, position: float, layer: float, request: gr.Request):
    """The diagram, top-5 guesses, summary and raw numbers for ``text`` at character ``position`` (1 = the
    first). A position past the end of a shorter text, or a layer the model lacks, is brought within range and
    said so: the page never shows an error over the diagram for what the last edit made stale."""
    text = checks.text(text, "The text", limits.SEED_MAX_CHARS)
    if not text:
        raise gr.Error("Type some text to step through.")
    position = checks.number(position, "The character", 1, limits.SEED_MAX_CHARS, integer=True)
    model, vocab, label = sessions.get(request).active()
    layers = model.config.num_layers
    layer = checks.number(layer, "The layer", 1, limits.MODEL_MAX_LAYERS, integer=True)
    notes, asked = [], position
    if position > len(text):
        notes.append(f"The text has {len(text)} characters: showing the last.")
        position = len(text)
    if layer > layers:
        notes.append(f"{label.capitalize()} has {layers} layer{'s' if layers > 1 else ''}: showing layer {layers}.")
        layer = layers
    view = cell_view(model, vocab, text, position - 1, layer - 1)
    guesses = {f"“{show_char(c)}”": p for c, p in view.guesses}
    numbers = {  # rounded: four decimals say all a person reads, and keep the page light
        "model": label,
        "character": position,
        "of": len(text),
        "char": view.char,
        "layer": view.layer + 1,
        "means": {part: round(x, 4) for part, x in view.means.items()},
        "values": {part: [round(x, 4) for x in values] for part, values in view.values.items()},
        "guesses": [(c, round(p, 4)) for c, p in view.guesses],
    }
    cell = model.config.cell
    described = describe_cell(view) if cell == "lstm" else describe_gated(view, cell)
    summary = " ".join([f"Character {position} of {len(text)}.", described, f"(Model: {label}.)", *notes])
    return (
        cell_svg(view, text) if cell == "lstm" else gated_svg(view, cell, text),
        guesses,
        summary,
        json.dumps(numbers, ensure_ascii=False),
        # the slider's value only when it was brought within range: sending it back every time would pull a
        # slider being dragged back to where an earlier answer was
        # (a slider's maximum must pass its minimum, 1: a one-character text gets a slider to 2, checked above)
        gr.update(maximum=max(2, len(text)), value=position)
        if position != asked
        else gr.update(maximum=max(2, len(text))),
        gr.update(value=layer, maximum=layers),
    )


# Stepping runs in the browser: no server round trip before the diagram request.
FIRST = "(step, text) => 1"
PREVIOUS = "(step, text) => Math.max(1, (step || 1) - 1)"
NEXT = "(step, text) => Math.min(Math.max(1, (text || '').length), (step || 1) + 1)"
LAST = "(step, text) => Math.max(1, (text || '').length)"


def build() -> dict:
    # Laid out to fit one screen under the path at the top (1366×768): the text and stepping controls in two
    # slim rows, then the diagram with the model's guesses and the summary beside it; the equations follow.
    with gr.Tab("Learn", id="learn", elem_id="learn-panel"):
        with gr.Row(elem_id="learn-controls", equal_height=True):
            text = gr.Textbox(
                EXAMPLE,
                label="Text to step through (keys ←/→, Space)",
                max_length=limits.SEED_MAX_CHARS,
                scale=3,
                min_width=220,
                elem_id="learn-text",
            )
            step = widgets.Slider(
                1,
                len(EXAMPLE),
                value=1,
                step=1,
                label="Character (1 = the first)",
                scale=3,
                min_width=220,
                elem_id="learn-step",
            )
            widgets.open_maximum(step)  # the handler checks the position against the text it is sent
            # Moving the slider (a drag let go, an arrow key on it, a number typed and Enter) presses this hidden
            # button (demo/static/keys.html): Gradio's own slider events got slower with every drag (0.3 s after one,
            # 3 s after fifty), the buttons' path does not.
            go = gr.Button("Show this character", elem_id="learn-go", elem_classes=["lab-hidden"])
            with gr.Column(scale=0, min_width=290, elem_id="learn-buttons"), gr.Row():
                first = gr.Button("◀◀ First", size="sm", min_width=60, elem_id="learn-first")
                back = gr.Button("◀ Previous", size="sm", min_width=80, elem_id="learn-previous")
                forward = gr.Button("Next ▶", size="sm", min_width=60, elem_id="learn-next")
                last = gr.Button("Last ▶▶", size="sm", min_width=60, elem_id="learn-last")
            layer = widgets.Number(
                1,
                label="Layer",
                precision=0,
                minimum=1,
                maximum=limits.MODEL_MAX_LAYERS,
                min_width=100,
                scale=0,
                elem_id="learn-layer",
            )
        with gr.Row(elem_id="learn-view"):
            with gr.Column(scale=3, min_width=320):
                diagram = gr.HTML(label="The cell at this character", elem_id="learn-diagram")
            with gr.Column(scale=1, min_width=220, elem_id="learn-side"):
                guesses = gr.Label(num_top_classes=5, label="What the model expects next", elem_id="learn-guesses")
                summary = gr.Markdown(label="Summary", elem_id="learn-summary")
        with gr.Accordion("How an LSTM cell reads one character (the equations)", open=True, elem_id="learn-how"):
            gr.Markdown(EXPLANATION, latex_delimiters=LATEX, elem_id="learn-explanation")
        with gr.Accordion("The numbers (JSON)", open=False):
            # as text: a JSON tree of a thousand numbers re-rendered at every step slowed the whole page down
            numbers = gr.Code(language="json", label="Gate values, means and guesses at this character")

        outputs = [diagram, guesses, summary, numbers, step, layer]
        inputs = [text, step, layer]
        update = {
            "fn": cell_values,
            "inputs": inputs,
            "outputs": outputs,
            "concurrency_id": "light",
            "trigger_mode": "always_last",  # while dragging or typing, only the latest position is drawn
            "show_progress": "hidden",  # no spinner over the diagram at every step
        }
        go.click(None, [step, text], step, js="(step, text) => step").then(api_name="cell_values", **update)
        gr.on([text.input, layer.input], api_visibility="private", **update)
        for button, js in ((first, FIRST), (back, PREVIOUS), (forward, NEXT), (last, LAST)):
            button.click(None, [step, text], step, js=js).then(api_visibility="private", **update)
        return update
