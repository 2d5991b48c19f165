"""Inside tab: Karpathy-style activation heatmaps. A text with each character coloured by one unit's value, and
the units that best follow something nameable (quotes, brackets, position in the line...) found automatically;
then "Switch a unit off" (:mod:`demo.tabs.clamp_view`): does the model use that unit, or does it only track
something?"""

from __future__ import annotations

import gradio as gr

from charlstm.lab.explain import activations, find_units
from charlstm.lab.steering import MATTERS, find_clamp

from ..drawing import widgets
from ..drawing.views import unit_html
from ..server import checks, limits, scheduling, sessions
from . import clamp_view

EXAMPLE = (
    'KING HENRY:\nSay "Fortune is a fickle friend" (so the old saying goes),\nand every word of it is true.\n\n'
    'QUEEN:\nThen (my lord) let us "trust" the saying no more than the wind.\n'
)


def _choice(match) -> tuple[str, str]:
    label = (
        f"{match.feature}: {match.kind} unit {match.unit} of layer {match.layer + 1} "
        f"(correlation {match.correlation:+.2f})"
    )
    return label, f"{match.kind}/{match.layer + 1}/{match.unit}"


def suggest_units(text: str, request: gr.Request) -> tuple:
    """The most interpretable units for ``text``; picks the best one."""
    text = checks.text(text, "The text", limits.SEED_MAX_CHARS)
    if not text.strip():
        raise gr.Error("Paste some text to look inside.")
    scheduling.begin_analysis(request)
    model, vocab, _label = sessions.get(request).active()
    matches = find_units(activations(model, vocab, text))
    if not matches:
        raise gr.Error("This text shows none of the features searched for; try a longer or more varied one.")
    rows = [[m.feature, m.kind, m.layer + 1, m.unit, round(m.correlation, 3)] for m in matches]
    # the first match (best correlated first) whose clamp changes the text's bits/char by MATTERS or more: so
    # "Switch a unit off" starts on a unit the model relies on, not on a null result
    found = find_clamp(model, vocab, text, [(m.kind, m.layer, m.unit) for m in matches])
    chosen = found.clamp if found is not None and found.change >= MATTERS else None
    best = next(
        (m for m in matches if chosen and (m.kind, m.layer, m.unit) == (chosen.kind, chosen.layer, chosen.unit)),
        matches[0],
    )
    return (
        gr.update(choices=[_choice(m) for m in matches], value=_choice(best)[1]),
        best.kind,
        best.layer + 1,
        best.unit,
        rows,
    )


def show_unit(text: str, kind: str, layer: float, unit: float, request: gr.Request) -> tuple[str, str]:
    """The text coloured by one unit's value, with a summary of where it is highest and lowest."""
    text = checks.text(text, "The text", limits.SEED_MAX_CHARS)
    if not text:
        raise gr.Error("Paste some text to look inside.")
    if kind not in ("hidden", "cell"):
        raise gr.Error("The kind must be “hidden” or “cell”.")
    model, vocab, label = sessions.get(request).active()
    layer = checks.number(layer, "The layer", 1, model.config.num_layers, integer=True)
    unit = checks.number(unit, "The unit", 0, model.config.hidden_size - 1, integer=True)
    scheduling.begin_analysis(request)
    values = activations(model, vocab, text).unit(kind, layer - 1, unit)
    high = max(range(len(values)), key=values.__getitem__)
    low = min(range(len(values)), key=values.__getitem__)
    summary = (
        f"{kind.capitalize()} unit {unit} of layer {layer} in {label}: from {values[low]:+.2f} "
        f"(at character {low + 1}, “{text[low]}”) to {values[high]:+.2f} (at character {high + 1}, "
        f"“{text[high]}”). Orange is positive, purple negative; hover a character for its value."
    )
    return unit_html(text, values), summary


def redraw(text: str, kind: str, layer: float, unit: float, heat: str, request: gr.Request) -> tuple:
    """The heatmap again with the model now chosen (the time machine moved), if one is drawn at all."""
    return show_unit(text, kind, layer, unit, request) if heat else (gr.skip(), gr.skip())


def first_visit(text: str, heat: str, request: gr.Request) -> tuple:
    """Opening the tab the first time finds units, so it never shows up empty; coming back keeps the unit the
    learner chose."""
    return suggest_units(text, request) if not heat else (gr.skip(),) * 5


def pick(choice: str) -> tuple:
    """The state, layer and unit of a suggestion ("cell/1/17")."""
    kind, layer, unit = (choice or "hidden/1/0").split("/")
    return kind, int(layer), int(unit)


def build() -> dict:
    with gr.Tab("Inside", id="inside", elem_id="inside-panel") as tab:
        gr.Markdown(
            "Each unit of the LSTM is a number that changes as the model reads. Some end up tracking "
            "things a person can name: whether we are inside quotes, how far along the line we are. "
            "**Find units** searches every unit for the best match to a few such features.",
            elem_id="inside-intro",
        )
        text = gr.Textbox(
            EXAMPLE, label="Text to read", lines=6, max_length=limits.SEED_MAX_CHARS, elem_id="inside-text"
        )
        with gr.Row():
            find = gr.Button("Find units", variant="primary")
            suggestions = gr.Dropdown([], label="Suggested units", scale=3, allow_custom_value=False)
        with gr.Row():
            kind = widgets.Radio(["hidden", "cell"], value="cell", label="State", info="h (output) or c (memory).")
            layer = widgets.Number(1, label="Layer", precision=0, minimum=1, maximum=limits.MODEL_MAX_LAYERS)
            unit = widgets.Number(0, label="Unit", precision=0, minimum=0, maximum=limits.MODEL_MAX_HIDDEN - 1)
            show = gr.Button("Show unit")
        heat = gr.HTML(label="Heatmap", elem_id="unit-heatmap")
        summary = gr.Markdown(label="Summary")
        table = gr.Dataframe(
            headers=["feature", "state", "layer", "unit", "correlation"], label="Every match", interactive=False
        )
        update = {
            "fn": show_unit,
            "inputs": [text, kind, layer, unit],
            "outputs": [heat, summary],
            **scheduling.ANALYSIS,
        }
        show.click(api_name="activations", **update)
        find.click(
            suggest_units, text, [suggestions, kind, layer, unit, table], api_name="find_units", **scheduling.ANALYSIS
        ).then(api_visibility="private", **update)
        # Opening the tab finds units at once (a fraction of a second), so it never shows up empty.
        tab.select(
            first_visit,
            [text, heat],
            [suggestions, kind, layer, unit, table],
            api_visibility="private",
            **scheduling.ANALYSIS,
        ).then(api_visibility="private", **update)
        suggestions.input(pick, suggestions, [kind, layer, unit], api_visibility="private").then(
            api_visibility="private", **update
        )
        _clamp_section(text, kind, layer, unit, suggestions)
        return update  # the app re-draws the heatmap with it when the time machine moves


def _clamp_section(
    text: gr.Textbox, kind: gr.Radio, layer: gr.Number, unit: gr.Number, suggestions: gr.Dropdown
) -> None:
    """The "Switch a unit off" section: the unit chosen above, held at a value while the model writes."""
    gr.Markdown(
        "### Switch a unit off\nDoes the model *use* this unit, or does it only *track* something? Hold it at a "
        "value (0 switches it off; the code calls this *clamping* the unit: `charlstm.clamp`, `charlstm.lab.steering`) "
        "while the model reads the seed and writes. Both texts are drawn with the same "
        "random numbers, so every difference is the clamp's doing; its cost is scored in bits per character on "
        "the text above. Radford et al. (2017) steered a model's sentiment with one unit; many tidy-looking units "
        "change nothing.\n\n**Try this:** Find units, pick “position in the line” and switch it off. Do the "
        "clamped lines still end where lines should? Then read the bits/char: a unit can follow a feature closely "
        "while the model does not rely on it. Try ±5 too.",
        elem_id="clamp-intro",
    )
    with gr.Row():
        value = widgets.Slider(
            -clamp_view.VALUE_RANGE,
            clamp_view.VALUE_RANGE,
            value=0,
            step=0.1,
            label="Clamp value",
            info="0 switches the unit off. Read normally, h stays within ±1 and c mostly within ±4.",
        )
        seed_text = gr.Textbox(
            clamp_view.SEED_TEXT, label="Seed text", lines=2, max_length=limits.SEED_MAX_CHARS, info="Read first."
        )
        length = widgets.Slider(
            1, clamp_view.MAX_LENGTH, value=clamp_view.LENGTH, step=1, label="Length (characters)",
            info=f"How much to write, up to {clamp_view.MAX_LENGTH}.",
        )  # fmt: skip
        seed = widgets.Number(
            clamp_view.DEFAULTS.seed, label="Random seed", precision=0, minimum=0, info="The same for both texts."
        )
    hint = gr.Markdown(elem_id="clamp-hint")
    # a suggested unit (Find units, or picked from the list) comes with the clamp value that shows its effect
    suggestions.change(
        clamp_view.suggest_value, [text, suggestions], [value, hint], api_visibility="private", **scheduling.ANALYSIS
    )
    go = gr.Button("Generate with the unit clamped", variant="primary", elem_id="clamp-button")
    with gr.Row():
        normal = gr.HTML(label="Normal", show_label=True, container=True, elem_id="clamp-normal")
        clamped = gr.HTML(label="Clamped", show_label=True, container=True, elem_id="clamp-clamped")
    summary = gr.Markdown(label="Summary", elem_id="clamp-summary")
    go.click(
        clamp_view.generate_clamped,
        [text, kind, layer, unit, value, seed_text, length, seed],
        [normal, clamped, summary],
        api_name="generate_clamped",
        concurrency_id="generate",  # it writes text: it queues with Generate's, not with the quick analyses
        concurrency_limit=limits.CONCURRENT_GENERATIONS,
        validator=checks.text_validator("The text", limits.SEED_MAX_CHARS),
    )
