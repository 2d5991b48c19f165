"""Corpus tab: pick a preset or upload a text file for the box at the top of the page (① your text), and see
exactly what a model would learn from: the summary under the box, every character here."""

from __future__ import annotations

import html

import gradio as gr

from charlstm.data import CorpusStats, describe, normalize_text
from charlstm.paths import ASSETS
from charlstm.vocab import MAX_VOCAB

from ..drawing.views import show_char
from ..server import checks, limits, scheduling
from . import quickstart, uploads

PRESETS = {
    "Financial transactions (the tutorial's text, 5k characters)": "tutorial-financial-transactions.txt",
    "Tiny Shakespeare (1.1M characters)": "tinyshakespeare.txt",
}
FIRST_PRESET = next(iter(PRESETS))
RARE = 3  # a character seen this few times is marked rare: the model can barely learn it

SHOWN_CHARS = 1024  # chips in the table of characters: a Chinese text's vocabulary can hold 4,096


def preset_text(name: str) -> str:
    if name not in PRESETS:
        raise gr.Error(f"Unknown preset {name!r}.")
    return (ASSETS / "corpora" / PRESETS[name]).read_text(encoding="utf-8")[: limits.CORPUS_MAX_CHARS]


LARGE = 100_000  # characters: a text this long takes a noticeable moment to count (a second at 2 million)


def corpus_stats(text: str) -> tuple[str, str]:
    """A summary (with warnings) and the table of characters of ``text``."""
    text = normalize_text(checks.text(text, "The corpus", limits.CORPUS_MAX_CHARS))
    if len(text) > LARGE:  # a long count waits while a generation runs, as the text analyses do
        scheduling.yield_to_interactive()
    stats = describe(text)  # once: it is most of the time
    return _summary(text, stats=stats), _details(stats) + _characters(text, stats)


def first() -> tuple[str, str]:
    """The text the page opens with (the first preset) and its summary."""
    text = preset_text(FIRST_PRESET)
    return text, _summary(text)


def _summary(text: str, notes: tuple[str, ...] = (), stats: CorpusStats | None = None) -> str:
    """What is being learned, in one line (under the text box), then any warnings."""
    stats = stats or describe(text)
    lines = [
        f"Your text: **{stats.chars:,} characters** ({stats.train_chars:,} to learn from, {stats.val_chars:,} held "
        f"out to check), {stats.distinct:,} distinct characters."
    ]
    lines += [f"**Note:** {w}" for w in (*notes, *stats.warnings)]
    return "\n\n".join(lines)


def _details(stats: CorpusStats) -> str:
    """The Corpus tab's account of the split and the vocabulary, above the table of characters."""
    distinct = stats.distinct
    kept = (
        "the model's vocabulary, plus one id for characters never seen"
        if distinct <= MAX_VOCAB
        else f"a model keeps only the {MAX_VOCAB:,} most frequent"
    )
    return (
        f"<p>{stats.chars:,} characters in {stats.lines:,} lines. A model trains on the first {stats.train_chars:,} "
        f"and is checked on the last {stats.val_chars:,} (10%), which it never learns from: how well it predicts "
        f"those says whether it learned how the text is written or only the text itself. {distinct:,} distinct "
        f"characters: {kept}.</p>"
    )


def _characters(text: str, stats: CorpusStats | None = None) -> str:
    """The table of characters, most common first, up to :data:`SHOWN_CHARS` (more than anyone reads): a text of a
    million distinct characters drew a million chips, a 113 MB reply."""
    stats = stats or describe(text)
    chips = []
    for ch, count in stats.counts[:SHOWN_CHARS]:
        marks, title = [], f"U+{ord(ch):04X}, seen {count:,} times"
        if count <= RARE:
            marks.append("rare")
        if ord(ch) > 127:
            marks.append("non-ascii")
        note = "".join(f" {m}" for m in marks)
        chips.append(
            f'<span class="chip{note}" title="{title}{" (" + ", ".join(marks) + ")" if marks else ""}">'
            f"{html.escape(show_char(ch))}<small>{count:,}</small></span>"
        )
    legend = (
        '<p class="legend">Most common first. <span class="chip rare">rare</span> seen at most '
        f'{RARE} times · <span class="chip non-ascii">non-ASCII</span> beyond plain English letters.</p>'
    )
    more = stats.distinct - len(stats.counts[:SHOWN_CHARS])
    rest = f'<p class="legend">… and {more:,} more, each seen as often or less.</p>' if more > 0 else ""
    return legend + '<div class="chips">' + "".join(chips) + "</div>" + rest


def upload(path: str | None) -> tuple[str, str, str]:
    """Put an uploaded text file in the paste box, with its statistics (and a note if it was truncated)."""
    text, notes = uploads.read_corpus_file(path)
    stats = describe(text)
    return text, _summary(text, notes, stats), _details(stats) + _characters(text, stats)


def build(path: quickstart.Path) -> None:
    """The tab; the text box and its summary are the path's, at the top of the page."""
    with gr.Tab("Corpus", id="corpus"):
        gr.Markdown(
            "Your text is the box at the top of the page (**① Your text**): paste into it, or fill it from a preset "
            f"or a `.txt` file here. Up to {limits.CORPUS_MAX_CHARS:,} characters."
        )
        with gr.Row():
            preset = gr.Dropdown(list(PRESETS), value=FIRST_PRESET, label="Preset", scale=3)
            file = gr.File(label="…or upload a .txt file (UTF-8)", file_types=[".txt"], type="filepath", scale=2)
        first_text = preset_text(FIRST_PRESET)
        first_stats = describe(first_text)
        chars = gr.HTML(
            _details(first_stats) + _characters(first_text, first_stats), label="The characters", elem_id="corpus-chars"
        )

        text, summary = path.text, path.summary
        # The public endpoint is registered first, so it keeps the plain name "corpus_stats".
        text.input(  # the statistics follow the text however it changes (demo/static/edits.html: pastes, cuts, undo...)
            corpus_stats,
            text,
            [summary, chars],
            api_name="corpus_stats",
            concurrency_id="light",
            trigger_mode="always_last",
            show_progress="hidden",
            validator=checks.text_validator("The corpus", limits.CORPUS_MAX_CHARS),
        )
        preset.input(preset_text, preset, text, api_visibility="private").then(
            corpus_stats, text, [summary, chars], api_visibility="private"
        )
        file.upload(upload, file, [text, summary, chars], api_visibility="private", concurrency_id="light")
