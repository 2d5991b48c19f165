"""Learn's diagram for the two other cells a model may have: the GRU (a reset and an update gate, no separate
memory) and the plain RNN (no gate at all). The same drawing parts and colours as the LSTM's diagram
(:mod:`demo.drawing.views`), the equations written out above the real values."""

from __future__ import annotations

import html
import math

from charlstm.lab.explain import CellView

from .views import (
    SVG_STYLE,
    _grid,
    _sub,
    _unknown,
    gate_colour,
    reading,
    scales,
    show_char,
    signed_colour,
    text_strip,
)

# Each cell: its equations in words, and its boxes (part, function, colour scale, what it does).
EQUATIONS = {
    "gru": (
        f"{_sub('r', 't')} = σ(…) resets how much of {_sub('h', 't−1')} the candidate reads",
        f"{_sub('z', 't')} = σ(…) chooses: keep {_sub('h', 't−1')} (1) or take the candidate (0)",
        f"{_sub('n', 't')} = tanh(W {_sub('x', 't')} + {_sub('r', 't')} ⊙ (U {_sub('h', 't−1')}))",
        f"{_sub('h', 't')} = (1 − {_sub('z', 't')}) ⊙ {_sub('n', 't')} + {_sub('z', 't')} ⊙ {_sub('h', 't−1')}",
    ),
    "rnn": (
        f"{_sub('h', 't')} = tanh(W {_sub('x', 't')} + U {_sub('h', 't−1')} + b)",
        "No gate: the whole state is rewritten at every character,",
        "so what was read long ago fades, and so does its training signal.",
    ),
}
BOXES = {
    "gru": (("reset", "σ", gate_colour), ("update", "σ", gate_colour), ("candidate", "tanh", signed_colour)),
    "rnn": (),
}
NAMES = {"gru": "GRU", "rnn": "plain RNN"}


def gated_label(view: CellView, cell: str, length: int | None = None) -> str:
    """The diagram's accessible name."""
    of = f" of {length}" if length else ""
    means = ", ".join(f"{part} mean {value:+.2f}" for part, value in view.means.items())
    unknown = "" if view.known else " (unknown to the model)"
    where = f"character {view.step + 1}{of}, “{show_char(view.char)}”{unknown}, layer {view.layer + 1}"
    return f"{NAMES[cell]} cell at {where}: {means}"


def gated_svg(view: CellView, cell: str, text: str | None = None) -> str:
    """The GRU's or plain RNN's step: its equations, each gate's real activations (one square per unit) and
    mean, and the state before and after."""
    label = html.escape(gated_label(view, cell, len(text) if text else None))
    H = len(view.values["hidden"])
    cell_size = 5 if H <= 512 else 3.5
    rows = math.ceil(H / 32)
    grid_height = rows * cell_size
    lines = [f"Reading {_sub('x', 't')} = {reading(view)} · layer {view.layer + 1}", *EQUATIONS[cell]]
    parts = [f'<text x="12" y="{22 + 20 * i}" class="l">{line}</text>' for i, line in enumerate(lines)]
    y = 30 + 20 * len(lines)
    box_height = 48 + grid_height
    for k, (name, fn, colour) in enumerate(BOXES[cell]):
        x = 8 + k * 196
        parts.append(
            f'<rect x="{x}" y="{y}" width="188" height="{box_height}" rx="8" class="box"/>'
            f'<text x="{x + 94}" y="{y + 18}" class="t">{name} {fn}</text>'
            f'<text x="{x + 94}" y="{y + 34}" class="s">mean {view.means[name]:+.2f}</text>'
            + _grid(view.values[name], x + (188 - 32 * cell_size) / 2, y + 42, colour, cell=cell_size)
        )
    if BOXES[cell]:
        y += box_height + 16
    for k, (title, values) in enumerate(
        (
            (f"{_sub('h', 't−1')} state before", view.previous_hidden),
            (f"{_sub('h', 't')} state after", view.values["hidden"]),
        )
    ):
        x = 8 + k * 196
        parts.append(f'<text x="{x}" y="{y + 14}" class="l">{title}</text>')
        parts.append(_grid(values, x, y + 22, signed_colour, cell=cell_size))
    y += 34 + grid_height
    parts.append(scales(H, 8, y, "States and candidate:" if BOXES[cell] else "States:", 150 if BOXES[cell] else 60))
    height = y + 54
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 600 {height}" role="img" class="gated" '
        f'aria-label="{label}" style="max-width:600px">{"".join(parts)}</svg>'
    )
    strip = text_strip(text, view.step) if text else ""
    return f'<div class="cell-diagram">{SVG_STYLE}{strip}{svg}</div>'


def describe_gated(view: CellView, cell: str) -> str:
    """A plain-language reading of the diagram."""
    guesses = ", ".join(f"“{show_char(c)}” {p:.0%}" for c, p in view.guesses)
    m, h = view.means, view.values["hidden"]
    gates = ""
    if cell == "gru":
        keeps = "keeps most of its old state" if m["update"] > 0.5 else "takes in mostly new content"
        gates = f"Update gate mean {m['update']:.2f} ({keeps}); reset gate mean {m['reset']:.2f}. "
    return (
        f"Reading “{show_char(view.char)}”{_unknown(view)} (layer {view.layer + 1}, {NAMES[cell]}). {gates}"
        f"State h ranges {min(h):+.2f} to {max(h):+.2f}. Next-character guesses: {guesses}."
    )
