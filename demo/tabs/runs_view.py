"""Compare runs on the Train tab: the loss plot keeps a visitor's last runs, each in its own colour and labelled
with what changed from the run before (:func:`charlstm.lab.run_changes.label`), a table of their settings, and a
list of the earlier runs to show or hide. The current run is drawn as before (training and validation); earlier
ones by their validation curve."""

from __future__ import annotations

import math
from dataclasses import dataclass

import gradio as gr
import pandas as pd

from charlstm.lab.run_changes import RunSummary, label

from ..server.sessions import Session

KEPT_RUNS = 5  # the current run and the four before it
BEST_SERIES = "best validation (kept weights)"
TRY_THIS = (
    "**Try this:** train once, change one thing (hidden_size, dropout, start from random weights) and train "
    "again: each run keeps its own line, labelled with what changed. Lower validation is better; a line that "
    "turns up while training goes on is a model memorising its text."
)
TABLE_HEADERS = ["run", "what changed", "start", "hidden_size", "num_layers", "seq_len", "batch_size"]
TABLE_HEADERS += ["learning_rate", "dropout", "seconds trained", "best validation (bits/char)"]


@dataclass(frozen=True)
class PastRun:
    """A finished run as the plot and the table keep it once a newer run has started."""

    number: int
    label: str
    summary: RunSummary
    rows: tuple[dict, ...]  # its validation points
    seconds: float
    best_bpc: float | None

    @property
    def series(self) -> str:
        return f"run {self.number}: {self.label}"


def start_run(session: Session, summary: RunSummary) -> None:
    """A new run begins: the current one joins the earlier runs (the oldest beyond :data:`KEPT_RUNS` goes)."""
    runs = session.compared
    if runs.summary is not None and session.rows:
        rows = tuple(r for r in session.rows if r["series"] == "validation")
        seconds = session.rows[-1]["seconds"]
        past = PastRun(runs.number, runs.label, runs.summary, rows, seconds, session.best_bpc)
        runs.past = [*runs.past, past][-(KEPT_RUNS - 1) :]
    runs.label = label(runs.summary, summary)
    runs.summary = summary
    runs.number += 1


def plot_rows(session: Session) -> pd.DataFrame | None:
    """The loss rows: this run's (training and validation), the earlier runs shown, and this run's
    best-validation moment as a vertical line across the curves.

    A run keeps its colour from its start to its last day on the plot: the chart gives colours by the order in
    which its lines first appear in the data, so the data opens with one empty row (no value: nothing is drawn)
    per colour slot — run n's validation line in slot (n − 1) mod :data:`KEPT_RUNS`, then this run's training
    line, then the best moment — with a blank name for a slot no run holds (the legend lists only real lines)."""
    current = [] if session.compared.number in session.compared.hidden else session.rows
    past = shown(session)
    rows = current + [dict(r, series=p.series) for p in past for r in p.rows]
    if not rows:
        return None
    if session.best_at is not None and current:
        values = [r["bpc"] for r in rows if math.isfinite(r["bpc"])]
        low, high = min(values), max(values)
        x = round(session.best_at, 2)
        rows += [{"seconds": x, "bpc": low, "series": BEST_SERIES}, {"seconds": x, "bpc": high, "series": BEST_SERIES}]
    slots = [" " * (k + 1) for k in range(KEPT_RUNS)]  # blank names: free slots
    for p in past:
        slots[(p.number - 1) % KEPT_RUNS] = p.series
    slots[(session.compared.number - 1) % KEPT_RUNS] = "validation"
    order = [*slots, "train", BEST_SERIES]
    start = rows[0]["seconds"]
    return pd.DataFrame([{"seconds": start, "bpc": math.nan, "series": name} for name in order] + rows)


def shown(session: Session) -> list[PastRun]:
    return [past for past in session.compared.past if past.number not in session.compared.hidden]


def plot(session: Session) -> dict | pd.DataFrame | None:
    """The plot's rows, as an update with this run's label in the title when that or the set of lines changed.

    Gradio's plot draws a new set of lines only when its chart is rebuilt, and a data update alone does not
    rebuild it (its colour scale keeps the lines it was built with): so when the set of lines changes, the
    legend's list of lines (``colors_in_legend``) is sent too, with this update and the next, which rebuilds the
    chart. Not at every update: a rebuild costs far more than new points, and an update of a component's
    properties is rebuilt on the server's event loop, where Stop is answered. (Colours follow the order in which
    lines first appear in the data, which :func:`plot_rows` fixes: a ``color_map`` changed by a later run of the
    same event is not applied by Gradio 6.31's page.)"""
    runs = session.compared
    rows = plot_rows(session)
    title = "Loss while training (bits per character, lower is better)"
    if runs.past:
        title += f" · now run {runs.number}: {runs.label}"
    drawn = rows.dropna(subset=["bpc"]) if rows is not None else None  # (not the colour slots' empty rows)
    lines = tuple(dict.fromkeys(drawn["series"])) if drawn is not None else ()
    if lines != runs.plotted_lines:
        # twice: the page may rebuild the chart from the data it had before this update arrived
        runs.plotted_lines, runs.legend_due = lines, 2
    if not runs.legend_due and title == runs.plotted_title:
        return rows
    runs.legend_due, runs.plotted_title = max(0, runs.legend_due - 1), title
    return gr.update(value=rows, label=title, colors_in_legend=list(lines) or None)


def table(session: Session) -> list[list]:
    """One row per kept run, oldest first: what changed, its settings, its time and its best validation."""
    runs = session.compared
    rows = [_row(p.number, p.label, p.summary, p.seconds, p.best_bpc) for p in runs.past]
    if runs.summary is not None:
        seconds = session.rows[-1]["seconds"] if session.rows else 0.0
        rows.append(_row(runs.number, runs.label, runs.summary, seconds, session.best_bpc))
    return rows


def _row(number: int, what: str, summary: RunSummary, seconds: float, best: float | None) -> list:
    s = summary.settings
    columns = [s["hidden_size"], s["num_layers"], s["seq_len"], s["batch_size"], s["learning_rate"], s["dropout"]]
    return [number, what, summary.start, *columns, round(seconds, 1), None if best is None else round(best, 3)]


def run_choices(session: Session) -> dict:
    """The runs a learner can show or hide (shown once there is more than one)."""
    runs = session.compared
    choices = [(past.series, past.number) for past in runs.past]
    choices.append((f"run {runs.number} (now): {runs.label}", runs.number))
    visible = [number for _, number in choices if number not in runs.hidden]
    return gr.update(choices=choices, value=visible, visible=bool(runs.past))


def choose_runs(numbers: list[int] | None, session: Session) -> None:
    """Hide the kept runs not in ``numbers``."""
    keep = {int(n) for n in numbers or []}
    kept = [past.number for past in session.compared.past] + [session.compared.number]
    session.compared.hidden = {number for number in kept if number not in keep}
