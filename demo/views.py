"""Drawing: the LSTM cell diagram as SVG, text shaded per character, and colour scales.

Pure presentation over plain numbers from :mod:`charlstm.explain`. Colours come from colour-blind-safe
scales (viridis for gates in [0, 1], purple–orange for signed values) and every picture has a text summary.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

from charlstm.explain import CellView, Surprise

VIRIDIS = ["#440154", "#414487", "#2a788e", "#22a884", "#7ad151", "#fde725"]
PURPLE_ORANGE = ["#542788", "#998ec3", "#f7f7f7", "#f1a340", "#b35806"]
SURPRISE = ["#ffffff", "#fee6ce", "#fdae6b", "#e6550d", "#a63603"]


def _blend(scale: Sequence[str], t: float) -> str:
    t = 0.0 if not math.isfinite(t) else min(1.0, max(0.0, t))
    pos = t * (len(scale) - 1)
    i = min(int(pos), len(scale) - 2)
    a, b = scale[i], scale[i + 1]
    mix = [
        round(int(a[k : k + 2], 16) + (int(b[k : k + 2], 16) - int(a[k : k + 2], 16)) * (pos - i)) for k in (1, 3, 5)
    ]
    return "#" + "".join(f"{c:02x}" for c in mix)


def gate_colour(value: float) -> str:
    """Viridis over [0, 1]."""
    return _blend(VIRIDIS, value)


def signed_colour(value: float, limit: float = 1.0) -> str:
    """Purple (negative) through white to orange (positive), over [-limit, limit]."""
    return _blend(PURPLE_ORANGE, 0.5 + 0.5 * value / (limit or 1.0))


def _ink(background: str) -> str:
    r, g, b = (int(background[k : k + 2], 16) for k in (1, 3, 5))
    return "#000" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#fff"


def show_char(ch: str) -> str:
    """A visible stand-in for whitespace characters."""
    return {"\n": "⏎", " ": "␣", "\t": "⇥"}.get(ch, ch)


def _grid(values: Sequence[float], x: float, y: float, colour, cols: int = 32, cell: float = 4.0) -> str:
    """Units as small squares, ``cols`` to a row: a heat strip that shows every unit at once."""
    values = values[:512]
    cols = min(cols, max(1, len(values)))
    rects = [
        f'<rect x="{x + (i % cols) * cell:.1f}" y="{y + (i // cols) * cell:.1f}" width="{cell}" height="{cell}" '
        f'fill="{colour(v)}"/>'
        for i, v in enumerate(values)
    ]
    return "".join(rects)


def _box(x: float, y: float, w: float, h: float, title: str, subtitle: str, fill: str = "#eef2f7") -> str:
    return (
        f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="8" fill="{fill}" stroke="#334" stroke-width="1.5"/>'
        f'<text x="{x + w / 2}" y="{y + 18}" class="t">{html.escape(title)}</text>'
        f'<text x="{x + w / 2}" y="{y + 34}" class="s">{html.escape(subtitle)}</text>'
    )


def _op(x: float, y: float, symbol: str) -> str:
    return (
        f'<circle cx="{x}" cy="{y}" r="13" fill="#fff" stroke="#334" stroke-width="1.5"/>'
        f'<text x="{x}" y="{y + 5}" class="t">{symbol}</text>'
    )


def _line(points: Sequence[tuple[float, float]], arrow: bool = True) -> str:
    path = " ".join(f"{x},{y}" for x, y in points)
    marker = ' marker-end="url(#a)"' if arrow else ""
    return f'<polyline points="{path}" fill="none" stroke="#334" stroke-width="2"{marker}/>'


def _sub(base: str, index: str) -> str:
    return f'{base}<tspan baseline-shift="sub" font-size="10">{index}</tspan>'


def cell_svg(view: CellView) -> str:
    """The LSTM cell at one step: memory flows along the top, the inputs along the bottom, and each gate box
    holds its real activations (one square per unit) and their mean."""
    v, m = view.values, view.means
    H = len(v["forget"])
    box_top, box_h, bus_y = 150, 86, 290
    gates = [("forget", "σ", 150), ("input", "σ", 310), ("candidate", "tanh", 470), ("output", "σ", 630)]
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 800 400" role="img" '
        'aria-label="LSTM cell diagram with the current gate values" style="max-width:820px;width:100%">',
        '<defs><marker id="a" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#334"/></marker></defs>',
        "<style>.t{font:600 14px system-ui,sans-serif;text-anchor:middle;fill:#111}"
        ".s{font:12px system-ui,sans-serif;text-anchor:middle;fill:#333}"
        ".l{font:13px system-ui,sans-serif;fill:#111}.n{font:12px system-ui,sans-serif;fill:#333}</style>",
        # Memory along the top: c_{t-1} → × forget → + input·candidate → c_t.
        f'<text x="20" y="20" class="l">{_sub("c", "t−1")} memory in</text>',
        _grid(view.previous_cell, 20, 27, signed_colour, cell=3),
        f'<text x="680" y="20" class="l">{_sub("c", "t")} memory out</text>',
        _grid(v["cell"], 680, 27, signed_colour, cell=3),
        _line([(20, 60), (137, 60)]),
        _op(150, 60, "×"),
        _line([(163, 60), (457, 60)]),
        _op(470, 60, "+"),
        _line([(483, 60), (780, 60)]),
    ]
    for name, fn, x in gates:
        parts.append(_line([(x, bus_y), (x, box_top + box_h + 2)]))  # the inputs feed every gate from below
        parts.append(
            f'<rect x="{x - 65}" y="{box_top}" width="130" height="{box_h}" rx="8" fill="#eef2f7" stroke="#334" '
            f'stroke-width="1.5"/><text x="{x}" y="{box_top + 18}" class="t">{name} {fn}</text>'
            f'<text x="{x}" y="{box_top + 34}" class="s">mean {m[name]:+.2f}</text>'
        )
        colour = signed_colour if name == "candidate" else gate_colour
        parts.append(_grid(v[name], x - 60, box_top + 42, colour, cell=3.75))
    parts += [
        _line([(150, box_top), (150, 73)]),  # forget gate scales the old memory
        _line([(310, box_top), (310, 110), (457, 110)]),
        _op(470, 110, "×"),  # input gate scales the candidate
        _line([(470, box_top), (470, 123)]),
        _line([(470, 97), (470, 73)]),  # and the product is written
        _line([(740, 60), (740, 80)]),
        _box(710, 80, 60, 28, "tanh", ""),  # the new memory, squashed
        _line([(740, 108), (740, 127)]),
        _op(740, 140, "×"),
        _line([(630, box_top), (630, 140), (727, 140)]),  # output gate scales what is shown
        _line([(753, 140), (790, 140)]),
        f'<text x="700" y="{box_top + 8}" class="l">{_sub("h", "t")} output</text>',
        _grid(v["hidden"], 700, box_top + 15, signed_colour, cols=30, cell=3),
        # Inputs along the bottom: the previous output and the character read now.
        _line([(20, bus_y), (640, bus_y)], arrow=False),
        f'<text x="20" y="{bus_y + 20}" class="l">{_sub("h", "t−1")} (previous output) and '
        f"{_sub('x', 't')} = “{html.escape(show_char(view.char))}” (this character)</text>",
        _grid(view.previous_hidden, 20, bus_y + 28, signed_colour, cell=3),
        f'<text x="20" y="{bus_y + 75}" class="n">One square per unit ({H} units). Gates: dark purple = 0 (closed) '
        "to yellow = 1 (open).</text>",
        f'<text x="20" y="{bus_y + 92}" class="n">Memory, candidate and output: purple = negative, white = 0, '
        "orange = positive.</text>",
        "</svg>",
    ]
    return "".join(parts)


def describe_cell(view: CellView) -> str:
    """A plain-language reading of the diagram, for screen readers and the back of the room."""
    m = view.means
    guesses = ", ".join(f"“{show_char(c)}” {p:.0%}" for c, p in view.guesses)
    return (
        f"Step {view.step + 1}: reading “{show_char(view.char)}” (layer {view.layer + 1}). "
        f"Forget gate mean {m['forget']:.2f} ({'keeps' if m['forget'] > 0.5 else 'drops'} most of the old memory); "
        f"input gate mean {m['input']:.2f}; candidate mean {m['candidate']:+.2f}; output gate mean {m['output']:.2f}. "
        f"Memory c ranges {min(view.values['cell']):+.2f} to {max(view.values['cell']):+.2f}. "
        f"Next-character guesses: {guesses}."
    )


def shaded_text(text: str, colours: Sequence[str], titles: Sequence[str]) -> str:
    """``text`` as HTML spans, each character on its own background with a hover title."""
    spans = []
    for ch, colour, title in zip(text, colours, titles):
        shown = "⏎<br>" if ch == "\n" else html.escape(ch)
        spans.append(
            f'<span style="background:{colour};color:{_ink(colour)}" title="{html.escape(title)}">{shown}</span>'
        )
    return (
        '<div class="shaded" style="font-family:ui-monospace,monospace;line-height:1.7;white-space:pre-wrap;'
        f'word-break:break-all">{"".join(spans)}</div>'
    )


def unit_html(text: str, values: Sequence[float]) -> str:
    """Karpathy-style: each character coloured by one unit's value (purple negative, orange positive)."""
    limit = max((abs(x) for x in values), default=1.0) or 1.0
    return shaded_text(text, [signed_colour(x, limit) for x in values], [f"{x:+.3f}" for x in values])


def surprise_html(result: Surprise) -> str:
    """Each character shaded by surprise (bits), its probability on hover."""
    bits = result.bits
    colours = [_blend(SURPRISE, b / 10) for b in bits]
    titles = [
        f"“{show_char(c)}”: probability {p:.2%}, surprise {b:.1f} bits"
        for c, p, b in zip(result.chars, result.probs, bits)
    ]
    return shaded_text("".join(result.chars), colours, titles)


def copied_html(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """``text`` with the copied ``spans`` marked (a highlight and an underline, so it shows without colour)."""
    parts, at = [], 0
    for start, end in spans:
        parts.append(html.escape(text[at:start]))
        parts.append(
            f'<mark class="copied" title="copied from the training text">{html.escape(text[start:end])}</mark>'
        )
        at = end
    parts.append(html.escape(text[at:]))
    return f'<div class="copied-text">{"".join(parts)}</div>'
