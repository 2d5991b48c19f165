"""Train tab, "Why gates? Compare cells": a plain RNN, a GRU and the LSTM race (the same time, the same number of
parameters) on a text made to need memory (by default: on ordinary text nothing in 30 s shows memory at work, every
half-life stays a few characters) or on the visitor's text, then how far back each one's prediction reaches (the
memory reach curve and its half-life) and whether each still closes a bracket opened long ago. The library does the
work (:mod:`charlstm.lab.race`, :mod:`charlstm.lab.reach`); this module wires widgets to it."""

from __future__ import annotations

import math

import gradio as gr
import pandas as pd
import torch

from charlstm.data import CorpusError
from charlstm.lab.race import MEMORY_GAP, NAMES, Entry, memory_floors, memory_text, race, verdict
from charlstm.lab.race import memory_bytes as race_memory_bytes
from charlstm.lab.reach import ReachError, closing_probability, memory_reach
from charlstm.sampling import sample

from ..drawing import widgets
from ..server import admission, checks, limits, memory, presence, scheduling, sessions

RACE_MIN_SECONDS = 6  # two seconds each: less teaches nothing
RACE_SECONDS = 30  # the race's default budget: 10 s a cell, in which the gates win on MEMORY_TEXT (README)
MEMORY_TEXT = memory_text()
REMEMBERS, FORGETS = memory_floors()
MADE, YOURS = "A text made to need memory", "The Corpus tab's text"
ABOUT_MADE = (
    f"Each line opens with a random letter and closes with the same letter {MEMORY_GAP} dots later: "
    f"`(q {'.' * 12}… q)`. Everything else is predictable from the last few characters; the closing letter only "
    f"from the opening one. A model that remembers it can reach {REMEMBERS:.2f} bits/char; one that forgets it, "
    f"{FORGETS:.2f} at best."
)
REACH_DISTANCES = (5, 10, 20, 40, 80, 160)  # characters between an opening bracket and where it must close
TRY_THIS = (
    f"**Try this:** race the three cells for {RACE_SECONDS} s on the text made to need memory, then press **Measure "
    "memory reach**. The plain RNN's training signal fades within a few characters, so it cannot learn what "
    "happened long ago; the gates of the GRU and the LSTM let it through. Compare the half-lives. Then race on "
    "your own text: on most texts every half-life stays a few characters in this time (the next character "
    "depends mostly on the last few), and results within noise are called a tie."
)
SAMPLE_CHARS = 160


def race_cells(text: str, seconds: float, request: gr.Request):
    """Train the three cells one after another on ``text`` for ``seconds`` in all; stream their validation
    curves; end with a sample from each (the same seed) and who won."""
    text = checks.text(text, "The corpus", limits.CORPUS_MAX_CHARS)
    seconds = checks.number(seconds, "The race's time budget", RACE_MIN_SECONDS, limits.TRAIN_MAX_SECONDS)
    session = sessions.get(request)
    try:  # the three racers replace the last race's; this session's own model stays beside them
        needed = race_memory_bytes(text, seconds)
    except CorpusError as e:
        raise gr.Error(str(e)) from None
    own = session.memory_bytes() - sum(run.memory_bytes(training=False) for run in session.racers.values())
    memory.check_memory(session, needed + own)
    rows, entries, drawn = [], [], {"lines": (), "due": 0}
    with sessions.training(session):  # refuses a second run; at the end, counts as activity, returns memory
        try:
            presence.require_reader(sessions.key_of(request), "this race")
            for cell, item in scheduling.in_background(race(text, seconds)):
                if isinstance(item, Entry):
                    entries.append(item)
                    continue
                if item.val_bpc is not None and math.isfinite(item.val_bpc):
                    rows.append({"seconds": round(item.elapsed, 2), "bpc": item.val_bpc, "series": NAMES[cell]})
                    status = f"Training {NAMES[cell]} · {item.elapsed:.1f} s · validation {item.val_bpc:.2f} bits/char"
                    yield _curves(rows, drawn), status, gr.skip(), gr.skip()
                scheduling.yield_to_interactive(session.stop)
                if session.stop.is_set():
                    break
        except CorpusError as e:
            raise gr.Error(str(e)) from None
    if session.stop.is_set():
        yield pd.DataFrame(rows) if rows else None, "**Stopped**: the race is off.", gr.skip(), gr.skip()
        return
    session.racers = {e.cell: e.run for e in entries}
    with scheduling.interactive():
        texts = {
            e.cell: sample(
                e.run.model, e.run.vocab, e.run.lead_in, SAMPLE_CHARS, generator=torch.Generator().manual_seed(0)
            )
            for e in entries
        }
    sizes = [[NAMES[e.cell], e.config.hidden_size, e.parameters, e.best_bpc and round(e.best_bpc, 3)] for e in entries]
    samples = "\n\n".join(f"[{NAMES[e.cell]}]\n{texts[e.cell]}" for e in entries if e.cell in texts)
    yield _curves(rows, drawn), verdict(entries) + _about(text, entries), samples, sizes


def _about(text: str, entries: list[Entry]) -> str:
    """What the result means on the text made to need memory: which cells carry the letter across the dots."""
    if text != MEMORY_TEXT:
        return ""
    carried = [NAMES[e.cell] for e in entries if e.best_bpc is not None and e.best_bpc < FORGETS]
    which = (
        f"below that, {' and '.join(carried)} must be carrying it."
        if carried
        else "none carries it yet (race longer to see it learned); what the cells differ in here is how fast "
        "they learn the lines' layout."
    )
    return (
        f" On this text a model that forgets each line's opening letter can reach {FORGETS:.2f} bits/char at "
        f"best, one that carries it across the {MEMORY_GAP} dots {REMEMBERS:.2f}: {which}"
    )


def raced_text(choice: str, corpus: str) -> str:
    """The text the race and the reach run on: the one made to need memory, or the Corpus tab's."""
    return corpus if choice == YOURS else MEMORY_TEXT


def _curves(rows: list[dict], drawn: dict) -> dict | pd.DataFrame:
    """The race's rows; with the list of lines when a cell's line first appears (and once more), since Gradio's
    plot draws a new line only when its chart is rebuilt (as :func:`demo.tabs.runs_view.plot` explains)."""
    frame = pd.DataFrame(rows)
    lines = tuple(dict.fromkeys(frame["series"]))
    if lines != drawn["lines"]:
        drawn["lines"], drawn["due"] = lines, 2
    if not drawn["due"]:
        return frame
    drawn["due"] -= 1
    return gr.update(value=frame, colors_in_legend=list(lines))


def measure_reach(text: str, request: gr.Request):
    """The memory reach curve of each raced cell on ``text``, their half-lives in words, and the brackets test."""
    text = checks.text(text, "The reference text", limits.CORPUS_MAX_CHARS)
    racers = sessions.get(request).racers
    if not racers:
        raise gr.Error("Race the cells first: the reach is measured on the three models the race trained.")
    scheduling.begin_analysis(request)
    rows, words, brackets = [], [], []
    for cell, run in racers.items():
        try:
            result = memory_reach(run.model, run.vocab, text)
        except ReachError as e:
            raise gr.Error(f"The reach cannot be measured on this text: {e}.") from None
        rows += [
            {"characters back": k, "log10 strength": math.log10(max(s, 1e-30)), "cell": NAMES[cell]}
            for k, s in zip(result.distances, result.strength)
        ]
        half = f"{result.half_life:.0f} characters" if result.half_life else "— too little to measure"
        words.append(f"{NAMES[cell]}'s signal halves every {half}")
        try:
            closing = closing_probability(run.model, run.vocab, "(", ")", REACH_DISTANCES, text)
            baseline = sum(closing.without_opener) / len(closing.without_opener)
            brackets.append([NAMES[cell], *[round(p, 3) for p in closing.with_opener], round(baseline, 3)])
        except ReachError:  # the model knows no brackets: its text had none
            brackets.append([NAMES[cell], *[None] * (len(REACH_DISTANCES) + 1)])
    sentence = "; ".join(words)
    return pd.DataFrame(rows), sentence[0].upper() + sentence[1:] + ".", brackets


def build(corpus: gr.Textbox) -> None:
    with gr.Accordion("Why gates? Race a plain RNN, a GRU and the LSTM", open=False, elem_id="cells"):
        gr.Markdown(TRY_THIS)
        choice = gr.Radio([MADE, YOURS], value=MADE, label="Race on", info=ABOUT_MADE, elem_id="race-text")
        raced = gr.Textbox(visible=False)  # the text raced on, and measured on
        with gr.Row():
            seconds = widgets.Slider(
                RACE_MIN_SECONDS,
                limits.TRAIN_MAX_SECONDS,
                value=RACE_SECONDS,
                step=1,
                label="The race's time budget (seconds)",
            )
            go = gr.Button("Race the cells", variant="primary", elem_id="race-button")
        status = gr.Markdown(label="Status", elem_id="race-status")
        curves = gr.LinePlot(
            None,
            x="seconds",
            y="bpc",
            color="series",
            color_title="",  # the lines name the cells: no title above them
            label="Validation while each cell trains (bits per character)",
            elem_id="race-plot",
        )
        sizes = gr.Dataframe(
            headers=["cell", "hidden_size", "parameters", "best validation (bits/char)"], label="The racers"
        )
        samples = gr.Textbox(label="A sample from each (the same random seed)", lines=8, interactive=False)
        reach_button = gr.Button("Measure memory reach", elem_id="reach-button")
        half_lives = gr.Markdown(label="Half-lives", elem_id="half-lives")
        reach = gr.LinePlot(
            None,
            x="characters back",
            y="log10 strength",
            color="cell",
            color_title="",  # the lines name the cells: no title above them
            label="How much the prediction depends on the character k back (log10 of the gradient's size)",
            elem_id="reach-plot",
        )
        brackets = gr.Dataframe(
            headers=["cell", *[f"{d} back" for d in REACH_DISTANCES], "none open"],
            label="Probability of “)” when a “(” was opened this many characters back (and with none open)",
        )
    picked = {"fn": raced_text, "inputs": [choice, corpus], "outputs": raced, "queue": False}
    go.click(**picked, api_visibility="private").then(
        race_cells,
        [raced, seconds],
        [curves, status, samples, sizes],
        api_name="race_cells",
        validator=admission.admit_race,
        concurrency_id="train",
        concurrency_limit=limits.CONCURRENT_TRAININGS,
        show_progress_on=[status],
    )
    reach_button.click(**picked, api_visibility="private").then(
        measure_reach, raced, [reach, half_lives, brackets], api_name="memory_reach", **scheduling.ANALYSIS
    )
