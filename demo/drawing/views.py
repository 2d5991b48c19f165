"""Drawing: the LSTM cell diagram as SVG, text shaded per character, and colour scales.

Pure presentation over plain numbers from :mod:`charlstm.lab.explain`. One colour language, each scale with its own
legend: gates (0 … 1) are a green tint, none = closed; signed values (memory, candidate, outputs) are purple
(negative) or orange (positive). No colour means two things: viridis for the gates made its dark purple "closed"
next to the states' purple "negative". Every picture has a text summary.
"""

from __future__ import annotations

import base64
import html
import math
import struct
import zlib
from collections.abc import Sequence

from charlstm.lab.explain import CellView, Surprise
from charlstm.vocab import UNKNOWN_CHAR

# Signed values and surprise tint a character's background with a translucent colour over the page: zero is the
# page itself in the light and the dark theme, the text keeps the theme's own colour, and at most 60% opacity
# keeps its contrast at 4.5:1 or more on both (worked out for white and for Gradio's dark background).
NEGATIVE, POSITIVE = (84, 39, 136), (179, 88, 6)  # purple #542788 and orange #b35806: a colour-blind-safe pair
SURPRISED = (217, 95, 2)  # #d95f02
MAX_TINT = 0.6
# A gate's openness: a green tint from none (0, closed: nothing passes) to full (1, open), a hue the signed scale
# does not use. Gates never sit behind text, so they go to full strength; #1b9e77 is the colour-blind-safe Dark2
# green, away from both the purple and the orange for the common colour-vision deficiencies.
OPEN = (27, 158, 119)


def _tint(rgb: tuple[int, int, int], strength: float, most: float = MAX_TINT) -> str:
    strength = 0.0 if not math.isfinite(strength) else min(1.0, max(0.0, strength))
    return f"rgba({rgb[0]},{rgb[1]},{rgb[2]},{most * strength:.2f})"


def gate_colour(value: float) -> str:
    """A gate's value in [0, 1]: no tint (closed) to full green (open)."""
    return _tint(OPEN, value, most=1.0)


def signed_colour(value: float, limit: float = 1.0) -> str:
    """Purple (negative) or orange (positive), stronger with the size of ``value`` over ``limit``: zero is the
    page, and a negative and a positive value of one size are equally far from it."""
    t = value / (limit or 1.0) if math.isfinite(value) else 0.0
    return _tint(POSITIVE if t > 0 else NEGATIVE, abs(t))


UNKNOWN_SHOWN = "⟨unknown⟩"  # the model's "unknown" symbol: "�" read as a broken page, not as a choice


def show_char(ch: str) -> str:
    """A visible stand-in for whitespace characters and for the model's unknown symbol."""
    return {"\n": "⏎", " ": "␣", "\t": "⇥", UNKNOWN_CHAR: UNKNOWN_SHOWN}.get(ch, ch)


def reading(view: CellView) -> str:
    """The character read, in words (HTML-escaped), saying when the model has never seen it."""
    char = f"“{html.escape(show_char(view.char))}”"
    return char if view.known else f"{char}, unknown to the model"


def _rgba(colour: str) -> bytes:
    """ "#rrggbb" or "rgba(r,g,b,a)" as four bytes."""
    if colour.startswith("#"):
        return bytes(int(colour[k : k + 2], 16) for k in (1, 3, 5)) + b"\xff"
    r, g, b, a = (float(v) for v in colour[colour.index("(") + 1 : -1].split(","))
    return bytes((int(r), int(g), int(b), round(a * 255)))


def _png(width: int, height: int, pixels: bytes) -> bytes:
    """An RGBA PNG from ``pixels`` (rows of ``width`` × 4 bytes): the format's minimum, no library needed."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    rows = b"".join(b"\x00" + pixels[y * width * 4 : (y + 1) * width * 4] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8 bits per channel, RGBA
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _grid(values: Sequence[float], x: float, y: float, colour, cols: int = 32, cell: float = 4.0) -> str:
    """Units as small squares, ``cols`` to a row: a heat strip that shows every unit at once. Drawn as one
    tiny image (a pixel per unit, scaled up without smoothing): as many <rect>s made each step's drawing 300 kB."""
    values = values[:512]
    cols = min(cols, max(1, len(values)))
    rows = -(-len(values) // cols)
    pixels = b"".join(_rgba(colour(v)) for v in values) + b"\x00" * 4 * (rows * cols - len(values))
    data = base64.b64encode(_png(cols, rows, pixels)).decode("ascii")
    return (
        f'<image x="{x:.1f}" y="{y:.1f}" width="{cols * cell:g}" height="{rows * cell:g}" '
        f'preserveAspectRatio="none" style="image-rendering:pixelated" href="data:image/png;base64,{data}"/>'
    )


def _fit(values: Sequence[float], x: float, y: float, width: float, height: float) -> str:
    """A signed strip of ``values`` fitted inside ``width`` × ``height`` (the squares as large as fit): a model of
    512 units drew the strips of 256 twice as tall, over the memory line and the legend."""
    n = max(1, min(len(values), 512))
    cols = max(1, math.ceil(math.sqrt(n * width / height)))
    cell = min(width / cols, height / math.ceil(n / cols), 5.0)
    return _grid(values, x, y, signed_colour, cols=cols, cell=round(cell, 2))


def scales(H: int, x: float, y: float, signed: str = "Memory, candidate, outputs:", indent: int = 236) -> str:
    """The two legends, each a strip of its own colours with its ends named: gates 0 … 1, and the ``signed``
    values −1 … +1 (their strip ``indent`` from ``x``)."""
    gates = [i / 12 for i in range(13)]
    values = [i / 6 - 1 for i in range(13)]
    return (
        f'<text x="{x}" y="{y}" class="n">One square per unit ({H} units).</text>'
        # each strip's left label ends where the strip begins (anchored at its end), so a larger type (presenter
        # mode) grows away from the strip instead of over it
        f'<text x="{x + 136}" y="{y + 22}" class="n" text-anchor="end">Gates: 0 closed</text>'
        + _grid(gates, x + 142, y + 11, gate_colour, cols=13, cell=10)
        + f'<text x="{x + 278}" y="{y + 22}" class="n">1 open</text>'
        f'<text x="{x + indent + 16}" y="{y + 44}" class="n" text-anchor="end">{signed} −1</text>'
        + _grid(values, x + indent + 22, y + 33, signed_colour, cols=13, cell=10)
        + f'<text x="{x + indent + 158}" y="{y + 44}" class="n">+1 (none = 0)</text>'
    )


def _op(x: float, y: float, symbol: str) -> str:
    return f'<circle cx="{x}" cy="{y}" r="13" class="op"/><text x="{x}" y="{y + 5}" class="t">{symbol}</text>'


def _line(points: Sequence[tuple[float, float]], arrow: bool = True) -> str:
    path = " ".join(f"{x},{y}" for x, y in points)
    marker = ' marker-end="url(#a)"' if arrow else ""
    return f'<polyline points="{path}" class="w"{marker}/>'


def _sub(base: str, index: str) -> str:
    return f'{base}<tspan baseline-shift="sub" font-size="0.75em">{index}</tspan>'


def _gate(name: str, fn: str, mean: float, values: Sequence[float], x: float, y: float, w: float, cell: float) -> str:
    """A gate box: its name and function, the mean of its activations, and one square per unit."""
    colour = signed_colour if name == "candidate" else gate_colour
    return (
        f'<rect x="{x}" y="{y}" width="{w}" height="{42 + 16 * cell + 6}" rx="8" class="box"/>'
        f'<text x="{x + w / 2}" y="{y + 18}" class="t">{name} {fn}</text>'
        f'<text x="{x + w / 2}" y="{y + 34}" class="s">mean {mean:+.2f}</text>'
        + _grid(values, x + (w - 32 * cell) / 2, y + 42, colour, cell=cell)
    )


# The diagram takes its colours from the page's theme (Gradio's CSS variables, with light fallbacks for a page
# without them, such as a downloaded report): text, lines and arrows keep 4.5:1 in light and dark. Two drawings:
# the wide one, and below 640 px a compact one with the gates two by two, so labels stay readable on a phone.
SVG_STYLE = (
    "<style>.cell-diagram{--ink:var(--body-text-color,#111827);--ink2:var(--body-text-color-subdued,#4b5563);"
    "--paper:var(--background-fill-primary,#fff);--box:var(--background-fill-secondary,#f3f4f6)}"
    ".cell-diagram svg{display:block;width:100%;height:auto}"
    ".cell-diagram .compact{display:none;max-width:460px}.cell-diagram .wide{max-width:860px}"
    "@media (max-width:640px){.cell-diagram .wide{display:none}.cell-diagram .compact{display:block}}"
    ".cell-diagram .t{font:600 14px system-ui,sans-serif;text-anchor:middle;fill:var(--ink)}"
    ".cell-diagram .s{font:13px system-ui,sans-serif;text-anchor:middle;fill:var(--ink)}"
    ".cell-diagram .l{font:14px system-ui,sans-serif;fill:var(--ink)}"
    ".cell-diagram .n{font:13px system-ui,sans-serif;fill:var(--ink2)}"
    ".cell-diagram .w{fill:none;stroke:var(--ink);stroke-width:2}"
    ".cell-diagram .box{fill:var(--box);stroke:var(--ink);stroke-width:1.5}"
    ".cell-diagram .op{fill:var(--paper);stroke:var(--ink);stroke-width:1.5}"
    ".cell-diagram .tip{fill:var(--ink)}"
    ".cell-diagram .strip{font:1.15em/1.6 ui-monospace,monospace;white-space:pre;overflow:hidden;"
    "text-overflow:ellipsis;margin:0 0 .4em;color:var(--ink)}"
    ".cell-diagram .strip mark{background:#c2410c;color:#fff;border-radius:3px;padding:0 2px}"
    "</style>"
)
ARROW = (
    '<defs><marker id="a" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
    'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="tip"/></marker></defs>'
)
GATES = (("forget", "σ"), ("input", "σ"), ("candidate", "tanh"), ("output", "σ"))


def cell_label(view: CellView, length: int | None = None) -> str:
    """The diagram's accessible name: where it is and what it shows."""
    m, of = view.means, f" of {length}" if length else ""
    return (
        f"LSTM cell at character {view.step + 1}{of}, “{show_char(view.char)}”"
        f"{'' if view.known else ' (unknown to the model)'}, layer {view.layer + 1}: "
        f"forget gate mean {m['forget']:.2f}, input {m['input']:.2f}, candidate {m['candidate']:+.2f}, "
        f"output {m['output']:.2f}"
    )


STRIP_CONTEXT = 30  # characters shown on each side of the current one


def text_strip(text: str, step: int) -> str:
    """The text around character ``step`` (0-based) on one line, that character marked: where the reader is."""
    start, end = max(0, step - STRIP_CONTEXT), min(len(text), step + STRIP_CONTEXT + 1)
    before = html.escape(text[start:step].replace("\n", "⏎"))
    after = html.escape(text[step + 1 : end].replace("\n", "⏎"))
    now = html.escape(show_char(text[step]))
    return (
        f'<p class="strip" aria-hidden="true">{"…" if start else ""}{before}<mark>{now}</mark>{after}'
        f"{'…' if end < len(text) else ''}</p>"
    )


def cell_svg(view: CellView, text: str | None = None) -> str:
    """The LSTM cell at one step: memory flows along the top, the inputs along the bottom, and each gate box
    holds its real activations (one square per unit) and their mean. With ``text``, a strip of it above, the
    character read marked."""
    label = html.escape(cell_label(view, len(text) if text else None))
    strip = text_strip(text, view.step) if text else ""
    return f'<div class="cell-diagram">{SVG_STYLE}{strip}{_wide_svg(view, label)}{_compact_svg(view, label)}</div>'


def _wide_svg(view: CellView, label: str) -> str:
    v, m = view.values, view.means
    box_top, bus_y = 150, 290
    xs = dict(zip((g for g, _ in GATES), (150, 310, 470, 630)))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 800 430" role="img" class="wide" aria-label="{label}">',
        ARROW,
        # Memory along the top: c_{t-1} → × forget → + input·candidate → c_t.
        f'<text x="20" y="20" class="l">{_sub("c", "t−1")} memory in</text>',
        _fit(view.previous_cell, 20, 26, 110, 24),
        f'<text x="680" y="20" class="l">{_sub("c", "t")} memory out</text>',
        _fit(v["cell"], 680, 26, 110, 24),
        _line([(20, 60), (137, 60)]),
        _op(150, 60, "×"),
        _line([(163, 60), (457, 60)]),
        _op(470, 60, "+"),
        _line([(483, 60), (780, 60)]),
    ]
    for name, fn in GATES:
        x = xs[name]
        parts.append(_line([(x, bus_y), (x, box_top + 88)]))  # the inputs feed every gate from below
        parts.append(_gate(name, fn, m[name], v[name], x - 65, box_top, 130, 3.75))
    parts += [
        _line([(150, box_top), (150, 73)]),  # forget gate scales the old memory
        _line([(310, box_top), (310, 110), (457, 110)]),
        _op(470, 110, "×"),  # input gate scales the candidate
        _line([(470, box_top), (470, 123)]),
        _line([(470, 97), (470, 73)]),  # and the product is written
        _line([(740, 60), (740, 80)]),
        '<rect x="710" y="80" width="60" height="28" rx="8" class="box"/><text x="740" y="98" class="t">tanh</text>',
        _line([(740, 108), (740, 127)]),
        _op(740, 140, "×"),
        _line([(630, box_top), (630, 140), (727, 140)]),  # output gate scales what is shown
        _line([(753, 140), (790, 140)]),
        f'<text x="702" y="{box_top + 32}" class="l">{_sub("h", "t")} output</text>',
        _fit(v["hidden"], 702, box_top + 39, 90, 60),
        # Inputs along the bottom: the previous output and the character read now.
        _line([(20, bus_y), (640, bus_y)], arrow=False),
        f'<text x="20" y="{bus_y + 20}" class="l">{_sub("h", "t−1")} (previous output) and '
        f"{_sub('x', 't')} = {reading(view)}" + (" (this character)" if view.known else "") + "</text>",
        _fit(view.previous_hidden, 20, bus_y + 28, 110, 30),
        scales(len(v["forget"]), 20, bus_y + 80),
        "</svg>",
    ]
    return "".join(parts)


def _compact_svg(view: CellView, label: str) -> str:
    """The same values for a phone: the equations in words, the gates two by two, the states as strips."""
    v, m = view.values, view.means
    char = f"“{html.escape(show_char(view.char))}”" + ("" if view.known else ", unknown to the model")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 700" role="img" class="compact" '
        f'aria-label="{label}">',
        f'<text x="12" y="22" class="l">Reading {_sub("x", "t")} = {char} · layer {view.layer + 1}</text>',
        f'<text x="12" y="44" class="l">{_sub("c", "t")} = forget × {_sub("c", "t−1")} + input × candidate</text>',
        f'<text x="12" y="64" class="l">{_sub("h", "t")} = output × tanh({_sub("c", "t")})</text>',
    ]
    for k, (name, fn) in enumerate(GATES):
        x, y = 8 + (k % 2) * 196, 80 + (k // 2) * 136
        parts.append(_gate(name, fn, m[name], v[name], x, y, 188, 5))
    y = 358
    for k, (title, values) in enumerate(
        (
            (f"{_sub('c', 't−1')} memory in", view.previous_cell),
            (f"{_sub('c', 't')} memory out", v["cell"]),
            (f"{_sub('h', 't−1')} previous output", view.previous_hidden),
            (f"{_sub('h', 't')} output", v["hidden"]),
        )
    ):
        x, top = 8 + (k % 2) * 196, y + (k // 2) * 112
        parts.append(f'<text x="{x}" y="{top + 14}" class="l">{title}</text>')
        parts.append(_fit(values, x, top + 22, 160, 80))
    parts += [scales(len(v["forget"]), 8, y + 240, "States:", 60), "</svg>"]
    return "".join(parts)


def _unknown(view: CellView) -> str:
    return "" if view.known else ", a character the model has never seen: it reads its “unknown” symbol instead"


def describe_cell(view: CellView) -> str:
    """A plain-language reading of the diagram, for screen readers and the back of the room."""
    m = view.means
    guesses = ", ".join(f"“{show_char(c)}” {p:.0%}" for c, p in view.guesses)
    return (
        f"Reading “{show_char(view.char)}”{_unknown(view)} (layer {view.layer + 1}). "
        f"Forget gate mean {m['forget']:.2f} ({'keeps' if m['forget'] > 0.5 else 'drops'} most of the old memory); "
        f"input gate mean {m['input']:.2f}; candidate mean {m['candidate']:+.2f}; output gate mean {m['output']:.2f}. "
        f"Memory c ranges {min(view.values['cell']):+.2f} to {max(view.values['cell']):+.2f}. "
        f"Next-character guesses: {guesses}."
    )


TABLE_MAX = 400  # characters listed in a shaded view's table (the view itself shows every one)


def shaded_text(text: str, colours: Sequence[str], titles: Sequence[str], caption: str = "value") -> str:
    """``text`` as HTML spans, each character on its own background with a hover title, and the same values in a
    table under a disclosure, so they can be read without a mouse (keyboard, touch, screen reader)."""
    spans, rows = [], []
    for i, (ch, colour, title) in enumerate(zip(text, colours, titles)):
        shown = "⏎<br>" if ch == "\n" else html.escape(ch)
        spans.append(f'<span style="background:{colour}" title="{html.escape(title)}">{shown}</span>')
        if i < TABLE_MAX:
            rows.append(f"<tr><td>{i + 1}</td><td>{html.escape(show_char(ch))}</td><td>{html.escape(title)}</td></tr>")
    # lines break between words (a word too long for the line alone breaks anywhere): break-all cut words in two
    more = f"<p>The first {TABLE_MAX} of {len(text):,} characters.</p>" if len(text) > TABLE_MAX else ""
    return (
        '<div class="shaded" style="font-family:ui-monospace,monospace;line-height:1.7;white-space:pre-wrap;'
        f'overflow-wrap:anywhere">{"".join(spans)}</div>'
        f'<details class="values"><summary>The values as a table</summary>{more}<table><thead><tr><th>#</th>'
        f"<th>character</th><th>{html.escape(caption)}</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        "</details>"
    )


def unit_html(text: str, values: Sequence[float]) -> str:
    """Karpathy-style: each character coloured by one unit's value (purple negative, orange positive)."""
    limit = max((abs(x) for x in values), default=1.0) or 1.0
    return shaded_text(text, [signed_colour(x, limit) for x in values], [f"{x:+.3f}" for x in values], "unit value")


def surprise_html(result: Surprise) -> str:
    """Each character shaded by surprise (bits): no tint for none, the strongest from 10 bits; probability on hover."""
    titles = [
        f"“{show_char(c)}”: probability {p:.2%}, surprise {b:.1f} bits"
        for c, p, b in zip(result.chars, result.probs, result.bits)
    ]
    colours = [_tint(SURPRISED, b / 10) for b in result.bits]
    return shaded_text("".join(result.chars), colours, titles, "the model's surprise")


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
