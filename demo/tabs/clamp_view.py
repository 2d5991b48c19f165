"""Inside tab, "Switch a unit off": write the same continuation with and without one unit clamped, mark where the
two texts differ, and say how much the clamp costs on the tab's text. The clamp itself lives in the library
(:mod:`charlstm.lab.steering`); this module turns widgets into that call and its result into HTML and words."""

from __future__ import annotations

import html

import gradio as gr

from charlstm.clamp import Clamp, ClampError
from charlstm.config import SampleConfig
from charlstm.lab.steering import MATTERS, NOTHING, Comparison, compare_clamped, find_clamp
from charlstm.sampling import SamplingError

from ..server import checks, limits, scheduling, sessions

DEFAULTS = SampleConfig()  # temperature, top-k and top-p: Generate's defaults
LENGTH, MAX_LENGTH = 200, 500  # characters written per text, by default and at most: two columns stay readable
VALUE_RANGE = 5.0  # the slider's ±: h lives in (-1, 1), a trained c mostly within ±4 (the library allows ±10)
SEED_TEXT = "ROMEO:\n"
# Differing characters: a translucent orange over the page (the text keeps the theme's colour, so contrast holds
# in light and dark, as in views.py). Where the texts part is outlined and underlined too, so it shows without
# colour; the summary says where in words. The top padding keeps the first line clear of the block's label.
MARK = "background:rgba(179,88,6,0.3);color:inherit;border-radius:2px"
FIRST = ";outline:2px solid currentColor;outline-offset:1px;text-decoration:underline 2px"
BOX = "font-family:ui-monospace,monospace;white-space:pre-wrap;word-break:break-word;line-height:1.6;padding-top:1.6em"


def marked_html(text: str, differ: set[int], first: int | None) -> str:
    """``text`` with the characters at ``differ`` marked (runs of them in one mark), the ``first`` outlined."""
    parts, k = [], 0
    while k < len(text):
        end = k + 1
        while k != first and end < len(text) and (end in differ) == (k in differ) and end != first:
            end += 1
        piece = text[k:end]
        if k in differ:
            shown = html.escape(piece.replace("\n", "⏎\n"))  # a marked line break shows
            title = "the texts part here" if k == first else "differs from the other text"
            parts.append(f'<mark style="{MARK}{FIRST if k == first else ""}" title="{title}">{shown}</mark>')
        else:
            parts.append(html.escape(piece))
        k = end
    return f'<div class="clamp-text" style="{BOX}">{"".join(parts)}</div>'


def summary(result: Comparison, label: str, seed: int) -> str:
    """The clamp, the change in bits per character on the tab's text, and where the two texts part, in words."""
    change, n = result.change, len(result.normal)
    effect = {
        "matters": f"**this unit matters to the model** (a change of {MATTERS:g} bits/char or more)",
        "little": f"a small effect (between {NOTHING:g} and {MATTERS:g} bits/char)",
        "nothing": f"**the clamp changes almost nothing** (under {NOTHING:g} bits/char): whatever this unit "
        "tracks, the model does not rely on it here",
    }[result.effect]
    if not result.differ:
        texts = f"The clamp changed none of the {n:,} characters written."
    else:
        texts = (
            f"The texts part at character {result.differ[0] + 1} (outlined); after that each reads its own past, "
            f"so later characters differ too: {len(result.differ):,} of {n:,} do (marked)."
        )
    return (
        f"{result.clamp.describe().capitalize()} in {label}, same random seed ({seed}) and temperature "
        f"{DEFAULTS.temperature:g} for both texts. Bits/char on the text above ({result.reference_chars:,} "
        f"characters): {result.bpc_normal:.2f} without the clamp → {result.bpc_clamped:.2f} with it "
        f"({change:+.2f}): {effect}. {texts}"
    )


def generate_clamped(
    text: str,
    kind: str,
    layer: float,
    unit: float,
    value: float = 0.0,
    seed_text: str = SEED_TEXT,
    length: float = LENGTH,
    seed: float = DEFAULTS.seed,
    request: gr.Request = None,
) -> tuple[str, str, str]:
    """The normal and the clamped continuation of ``seed_text`` (HTML, differences marked) and a summary; the
    clamp is scored on ``text``, the tab's own text box."""
    text = checks.text(text, "The text", limits.SEED_MAX_CHARS)
    if not text:
        raise checks.Refusal("Paste some text to look inside: the clamp is scored on it.")
    seed_text = checks.text(seed_text, "The seed text", limits.SEED_MAX_CHARS)
    if kind not in ("hidden", "cell"):
        raise checks.Refusal(f"The state must be “hidden” or “cell”, not {checks.shown(kind)}.")
    model, vocab, label = sessions.get(request).active()
    layer = checks.number(layer, "The layer", 1, model.config.num_layers, integer=True)
    unit = checks.number(unit, "The unit", 0, model.config.hidden_size - 1, integer=True)
    value = checks.number(value, "The clamp value", -VALUE_RANGE, VALUE_RANGE)
    length = checks.number(length, "Length (characters)", 1, MAX_LENGTH, integer=True)
    seed = checks.number(seed, "The random seed", 0, 2**53, integer=True)
    with scheduling.interactive():  # it writes text: trainings pause between their updates, as for Generate
        try:
            result = compare_clamped(
                model, vocab, Clamp(kind, layer - 1, unit, value), seed_text, length,
                DEFAULTS.temperature, DEFAULTS.top_k, DEFAULTS.top_p, seed, text,
            )  # fmt: skip
        except (ClampError, SamplingError, ValueError) as e:
            raise checks.Refusal(str(e)[:1].upper() + str(e)[1:] + ".") from None
    differ = set(result.differ)
    first = result.differ[0] if result.differ else None
    return (
        marked_html(result.normal, differ, first),
        marked_html(result.clamped, differ, first),
        summary(result, label, seed),
    )


def suggest_value(text: str, choice: str, request: gr.Request = None) -> tuple:
    """The clamp value to try first for the unit ``choice`` ("cell/1/17", from Find units): off, or an end of its
    range, whichever changes the bits per character of ``text`` by MATTERS or more (the first found), with a note
    saying so; a unit that changes it little whatever its value is said to do so."""
    text = checks.text(text, "The text", limits.SEED_MAX_CHARS)
    try:
        kind, layer, unit = choice.split("/")
        unit_of = (kind, int(layer) - 1, int(unit))
    except (AttributeError, ValueError):  # no suggestion chosen (yet)
        return gr.skip(), gr.skip()
    scheduling.begin_analysis(request)
    model, vocab, _label = sessions.get(request).active()
    if not text or not 0 <= unit_of[1] < model.config.num_layers or not 0 <= unit_of[2] < model.config.hidden_size:
        return gr.skip(), gr.skip()
    with scheduling.interactive():  # a few short passes over the text
        found = find_clamp(model, vocab, text, [unit_of])
    if found is None:
        return gr.skip(), gr.skip()
    if found.change >= MATTERS:
        note = f"**Suggested:** {found.clamp.describe()}: on the text above it costs {found.change:+.2f} bits/char."
    else:
        note = (
            f"This unit changes the text's bits/char by {found.change:+.2f} at most (held at 0 or either end of its "
            f"range): under {MATTERS:g}. Find units on a longer text, or pick another unit."
        )
    return found.clamp.value, note
