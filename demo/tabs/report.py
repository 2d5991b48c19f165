"""The run card: "Download a report" on the Train tab writes one HTML file about this session's training — the
corpus, the settings, the loss curve, the samples, a surprise strip of held-out text, the units that track
something nameable, and the command that trains the same way from a shell.

The file is self-contained so that it opens offline, mailed or archived years later: inline CSS and SVG, system
fonts, and a content-security policy that forbids it to fetch anything at all. Every text in it is escaped.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict
from datetime import UTC, datetime

import gradio as gr

from charlstm.cli import train_command
from charlstm.data import describe, normalize_text
from charlstm.lab.explain import activations, find_units, surprise
from charlstm.lab.report import loss_curve_svg, split_point, trained_on
from charlstm.run import MODEL_FIELDS

from ..drawing.views import surprise_html, unit_html
from ..server import checks, limits, scheduling, sessions
from ..server.sessions import Session
from .knobs import DEFAULTS, KNOBS
from .train_view import samples_text

REPORT_NAME = "charlstm-report.html"
PASSAGE_CHARS = 600  # held-out characters shaded by surprise: a paragraph, read at a glance
UNITS_SHOWN = 5
STARTS = {
    "scratch": "random weights",
    "base": "the base model, which already reads English",
    "multilingual": "the multilingual base model, which already reads the world's common scripts",
}
SECTIONS = (  # id -> heading, in the order of the page
    ("corpus", "Corpus"),
    ("settings", "Settings"),
    ("loss", "Loss curve"),
    ("samples", "Samples at each evaluation"),
    ("surprise", "Surprise on held-out text"),
    ("units", "Interpretable units"),
    ("command", "Reproduce this run"),
)
# No default-src: nothing may load. Inline styles are the only thing the page uses.
POLICY = "default-src 'none'; style-src 'unsafe-inline'"
CSS = """
:root{color-scheme:light dark;--bg:#fff;--fg:#1b1b1b;--muted:#595959;--line:#d9d9d9;--code:#f3f3f3}
@media (prefers-color-scheme:dark){:root{--bg:#131313;--fg:#e9e9e9;--muted:#a8a8a8;--line:#3a3a3a;--code:#1f1f1f}}
body{margin:0 auto;max-width:880px;padding:1rem;background:var(--bg);color:var(--fg);
font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
h1{font-size:1.6rem;margin:.5rem 0}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid var(--line)}
.muted{color:var(--muted)}.wide{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th:first-child,td:first-child{width:45%}th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid var(--line)}
pre{background:var(--code);padding:.75rem;border-radius:6px;white-space:pre-wrap;overflow-wrap:anywhere}
.strip{padding:.5rem;border:1px solid var(--line);border-radius:6px}
"""


def report(text: str, request: gr.Request) -> str:
    """Write this session's run card beside its model download and return the file's path."""
    text = normalize_text(checks.text(text, "The corpus", limits.CORPUS_MAX_CHARS))
    session = sessions.get(request)
    session.check_lost()
    if session.running:
        raise gr.Error("This session is still training: wait for it to finish, or press Stop, then ask again.")
    run = session.run
    if run is None or run.train_ids is None or not session.rows or session.model is None:
        raise gr.Error("Train a model first: the report describes a training run of this session.")
    if not trained_on(run, text):
        raise gr.Error(
            "The corpus has changed since this model was trained: put back the text it learned from, "
            "or train on this one, then download the report."
        )
    scheduling.yield_to_interactive()
    path = session.download_path().with_name(REPORT_NAME)
    path.write_text(page(session, text), encoding="utf-8")
    return str(path)


def page(session: Session, text: str) -> str:
    """The whole HTML file for ``session``'s run on ``text`` (the corpus it trained on)."""
    run, held_out = session.run, text[split_point(text) :]
    best = f"{session.best_bpc:.3f} bits/char" if session.best_bpc is not None else "not measured"
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    bodies = {
        "corpus": _corpus(text, session.vocab.size),
        "settings": _settings(session),
        "loss": loss_curve_svg(session.rows, session.best_at),
        "samples": f"<pre>{html.escape(samples_text(session) or 'No evaluation yet.')}</pre>",
        "surprise": _surprise(session, held_out[:PASSAGE_CHARS]),
        "units": _units(session, held_out),
        "command": _command(session),
    }
    sections = "".join(
        f'<section id="{key}"><h2>{html.escape(title)}</h2>{bodies[key]}</section>' for key, title in SECTIONS
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>charlstm run report</title><style>{CSS}</style></head><body>"
        f'<h1>charlstm run report</h1><p class="muted">{run.train_state.step:,} steps, '
        f"{run.train_state.elapsed:.0f} s of training · best validation {best} · made {made}</p>"
        f"{sections}</body></html>\n"
    )


def _table(rows: list[tuple], head: tuple[str, ...] = ()) -> str:
    """Rows of cells as an escaped table (wrapped so a narrow screen scrolls it, not the page)."""
    cells = "".join("<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows)
    header = "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>" if head else ""
    return f'<div class="wide"><table>{header}{cells}</table></div>'


def _corpus(text: str, vocab_size: int) -> str:
    stats = describe(text)
    rows = [
        ("characters", f"{stats.chars:,}"),
        ("lines", f"{stats.lines:,}"),
        ("distinct characters", f"{stats.distinct:,}"),
        ("split", f"{stats.train_chars:,} to train on, the last {stats.val_chars:,} held out for validation"),
        ("the model's vocabulary", f"{vocab_size - 1:,} characters and one for unknown ones"),
    ]
    warnings = "".join(f"<li>{html.escape(w)}</li>" for w in stats.warnings)
    return _table(rows) + (f"<ul>{warnings}</ul>" if warnings else "")


def _settings(session: Session) -> str:
    run = session.run
    start = STARTS.get(run.init, f"the model file {run.init}")
    params = run.model.config.parameters(run.vocab.size)
    summary = f"<p>Weights started from {html.escape(start)} (<code>init = {html.escape(run.init)}</code>); "
    summary += f"{params:,} parameters.</p>"
    model = _table([(k, _value(v)) for k, v in asdict(run.model.config).items()], ("model_config", "value"))
    train = _table([(k, _value(v)) for k, v in asdict(run.train_config).items()], ("train_config", "value"))
    return summary + model + train


def _value(value: object) -> str:
    """A setting as the checkpoint's JSON header writes it (``true``, ``null``), not as Python would."""
    return json.dumps(value) if value is None or isinstance(value, bool) else str(value)


def _surprise(session: Session, passage: str) -> str:
    if not passage:
        return "<p>The held-out text is empty.</p>"
    result = surprise(session.model, session.vocab, passage)
    return (
        f"<p>The first {len(passage):,} held-out characters, each shaded by how surprised the model was to see it "
        "(the stronger the orange, the more surprising; hover, or open the table, for the numbers): "
        f"{result.mean_bits:.2f} bits/char on average.</p>"
        f'<div class="strip">{surprise_html(result)}</div>'
    )


def _units(session: Session, held_out: str) -> str:
    if not held_out.strip():
        return "<p>The held-out text is empty.</p>"
    acts = activations(session.model, session.vocab, held_out)
    matches = find_units(acts)[:UNITS_SHOWN]
    if not matches:
        return "<p>The held-out text shows none of the features searched for (quotes, brackets, lines, words).</p>"
    rows = [(m.feature, m.kind, m.layer + 1, m.unit, f"{m.correlation:+.2f}") for m in matches]
    best, passage = matches[0], acts.text[:PASSAGE_CHARS]
    values = acts.unit(best.kind, best.layer, best.unit)[: len(passage)]
    return (
        "<p>Units whose values follow something nameable in the held-out text (Pearson's r), best first.</p>"
        + _table(rows, ("feature", "state", "layer", "unit", "correlation"))
        + f"<p>The best, {html.escape(best.kind)} unit {best.unit} of layer {best.layer + 1} "
        f"({html.escape(best.feature)}), over the same passage: orange positive, purple negative.</p>"
        f'<div class="strip">{unit_html(passage, values)}</div>'
    )


def _command(session: Session) -> str:
    run = session.run
    config, model = run.train_config, run.model.config
    knobs = {name: getattr(model if name in MODEL_FIELDS else config, name) for name in KNOBS}
    # The app's "auto" start became the base model for this text; the CLI's "auto" chooses the same for it,
    # and only then also stops a memorising run as the app did.
    init = "auto" if run.init in ("base", "multilingual") else run.init
    seconds = config.seconds if config.seconds is not None else DEFAULTS["seconds"]
    line = train_command(seconds, False, knobs, init, config.keep_best, model.cell)
    return (
        "<p>Save the corpus as <code>corpus.txt</code>, then run this in the project's folder. The settings and "
        "seed are the same; the budget is in seconds, so a faster or slower machine takes more or fewer steps.</p>"
        f"<pre><code>{html.escape(line)}</code></pre>"
    )
