"""A training run's report, the parts that need no app: whether a text is the one a run learned from, its
held-out part, and the loss curve drawn as inline SVG.

The SVG is one element with its own styles and nothing external (no fonts, no links, not even an ``xmlns``:
inside an HTML page it needs none), readable on a light or a dark page. The app's run card
(``demo/tabs/report.py``) puts these together with its own views into one HTML file.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import torch

from ..data import normalize_text, val_size
from ..run import Run

# Okabe-Ito colours, as charlstm.plot and the Train tab use (plot.py is not imported: it loads matplotlib).
# Each series has a lighter shade for dark pages, where the usual blue has too little contrast.
COLOURS = {"train": ("#0072B2", "#56B4E9"), "validation": ("#D55E00", "#E69F00"), "best": ("#009E73", "#2BC49A")}
WIDTH, HEIGHT = 640, 320
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 34, 44  # margins: the y labels, the legend above, the x labels


def split_point(text: str) -> int:
    """Where the held-out part of a (normalised) corpus starts: its last :data:`charlstm.data.VAL_FRACTION`."""
    return len(text) - val_size(len(text))


def trained_on(run: Run, text: str) -> bool:
    """Whether ``text`` is the corpus that ``run`` last trained on: its training part encodes to the very ids
    the run read. A report must not describe one text and a model trained on another."""
    if run.train_ids is None:
        return False
    text = normalize_text(text)
    ids = run.vocab.encode(text[: split_point(text)])
    return ids.shape == run.train_ids.shape and torch.equal(ids.long(), run.train_ids.long())


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round values ("nice numbers": steps of 1, 2, 2.5 or 5 times a power of ten) covering [low, high]."""
    raw = (high - low) / count or 1.0
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first, last = math.floor(low / step), math.ceil(high / step)
    last = max(last, first + 1)  # a flat line still gets an axis with some height
    return [i * step for i in range(first, last + 1)]


def loss_curve_svg(rows: Sequence[dict], best_at: float | None = None) -> str:
    """Train and validation bits per character against seconds of training, from the Train tab's plot rows
    (dicts with ``seconds``, ``bpc`` and ``series``); ``best_at`` marks the kept best weights."""
    series = {
        name: [
            (float(r["seconds"]), float(r["bpc"]))
            for r in rows
            if r["series"] == name and math.isfinite(r["bpc"]) and math.isfinite(r["seconds"])
        ]
        for name in ("train", "validation")
    }
    points = [p for line in series.values() for p in line]
    if not points:
        return '<p class="lc-none">No finite loss was recorded.</p>'
    xs = _ticks(0.0, max([x for x, _ in points] + [best_at or 0.0]))
    ys = _ticks(min(y for _, y in points), max(y for _, y in points))

    def at(x: float, y: float) -> tuple[float, float]:  # data to pixels: y grows downwards
        px = LEFT + (x - xs[0]) / (xs[-1] - xs[0]) * (WIDTH - LEFT - RIGHT)
        py = HEIGHT - BOTTOM - (y - ys[0]) / (ys[-1] - ys[0]) * (HEIGHT - TOP - BOTTOM)
        return round(px, 1), round(py, 1)

    left, bottom = at(xs[0], ys[0])
    right, top = at(xs[-1], ys[-1])
    parts = [_style()]
    for x in xs:  # vertical grid lines and the seconds below them
        px, _ = at(x, ys[0])
        parts.append(f'<line class="lc-grid" x1="{px}" y1="{top}" x2="{px}" y2="{bottom}"/>')
        parts.append(f'<text x="{px}" y="{bottom + 16}" text-anchor="middle">{x:g}</text>')
    for y in ys:
        _, py = at(xs[0], y)
        parts.append(f'<line class="lc-grid" x1="{left}" y1="{py}" x2="{right}" y2="{py}"/>')
        parts.append(f'<text x="{left - 6}" y="{py + 4}" text-anchor="end">{y:g}</text>')
    parts.append(f'<polyline class="lc-axis" points="{left},{top} {left},{bottom} {right},{bottom}"/>')
    if best_at is not None and math.isfinite(best_at):
        px, _ = at(best_at, ys[0])
        parts.append(f'<line class="lc-best" x1="{px}" y1="{top}" x2="{px}" y2="{bottom}"/>')
    for name, line in series.items():
        if line:
            path = " ".join("{},{}".format(*at(x, y)) for x, y in line)
            parts.append(f'<polyline class="lc-{name}" points="{path}"/>')
    for x, y in series["validation"]:  # the evaluations, each with its value on hover
        cx, cy = at(x, y)
        tip = html.escape(f"{x:g} s: validation {y:.3f} bits/char")
        parts.append(f'<circle class="lc-dot" cx="{cx}" cy="{cy}" r="3"><title>{tip}</title></circle>')
    parts += _legend(best_at is not None)
    parts.append(f'<text x="{(left + right) / 2}" y="{HEIGHT - 6}" text-anchor="middle">seconds of training</text>')
    parts.append(
        f'<text transform="translate(14 {(top + bottom) / 2}) rotate(-90)" text-anchor="middle">'
        "bits per character</text>"
    )
    final = series["validation"][-1][1] if series["validation"] else None
    label = "Loss curves: train and validation bits per character against seconds of training" + (
        f"; the last validation is {final:.3f} bits per character" if final is not None else ""
    )
    return (
        f'<svg class="lc" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{html.escape(label)}">'
        f"{''.join(parts)}</svg>"
    )


def _legend(best: bool) -> list[str]:
    entries = [("train", "train"), ("validation", "validation")] + ([("best", "best weights (kept)")] if best else [])
    parts, x = [], LEFT
    for name, label in entries:
        parts.append(f'<line class="lc-{name}" x1="{x}" y1="14" x2="{x + 22}" y2="14"/>')
        parts.append(f'<text x="{x + 28}" y="18">{html.escape(label)}</text>')
        x += 40 + 10 * len(label)  # room for the larger letters on a phone
    return parts


def _style() -> str:
    light = "".join(f".lc .lc-{n}{{stroke:{c[0]}}}" for n, c in COLOURS.items())
    dark = "".join(f".lc .lc-{n}{{stroke:{c[1]}}}" for n, c in COLOURS.items())
    return (
        "<style>.lc{width:100%;height:auto;max-width:"
        f"{WIDTH}px"
        "}.lc text{font:12px system-ui,sans-serif;fill:currentColor}"
        ".lc line,.lc polyline{fill:none;stroke-width:1.5}.lc .lc-axis{stroke:currentColor}"
        ".lc .lc-grid{stroke:currentColor;stroke-opacity:.15;stroke-width:1}.lc .lc-best{stroke-dasharray:5 4}"
        f".lc .lc-dot{{fill:{COLOURS['validation'][0]}}}{light}"
        f"@media (prefers-color-scheme:dark){{.lc .lc-dot{{fill:{COLOURS['validation'][1]}}}{dark}}}"
        # on a phone the drawing shrinks to about half: larger letters keep the labels readable
        "@media (max-width:520px){.lc text{font-size:19px}}</style>"
    )
