"""Train tab: automatic or hand-set size, a time budget, Train / Stop / Continue, a live loss plot, samples at
each evaluation, the equivalent command line, and model download and upload."""

from __future__ import annotations

import shlex
import time
from contextlib import closing
from dataclasses import fields, replace

import gradio as gr

from charlstm.config import CELLS, MAX_LEARNING_RATE, ConfigError, ModelConfig, TrainConfig
from charlstm.data import CorpusError
from charlstm.run import Plan, Run, plan
from charlstm.runs import summarize

from . import (
    admission,
    cells_view,
    checks,
    limits,
    presence,
    report,
    runs_view,
    sessions,
    time_machine,
    uploads,
    widgets,
)
from .sessions import Session
from .train_view import record, status_text

KNOBS = {  # field -> (minimum, maximum, step, one-line help); defaults come from the config dataclasses
    "hidden_size": (16, limits.MODEL_MAX_HIDDEN, 16, "Units per LSTM layer: more remember more, but train slower."),
    "num_layers": (1, limits.MODEL_MAX_LAYERS, 1, "LSTM layers stacked; each reads the one below."),
    "embedding_size": (8, 256, 8, "Length of the vector each character becomes."),
    "seq_len": (8, 256, 8, "Characters per training window: how far back the gradient reaches."),
    "batch_size": (1, 64, 1, "Windows per update: larger is smoother, smaller updates more often."),
    "learning_rate": (
        1e-4,
        0.05,
        1e-4,
        "Adam's peak step size; it decays over the budget. Try 100 to watch the divergence guard.",
    ),
    "dropout": (0.0, 0.5, 0.05, "Share of values zeroed while training: helps against memorising a small text."),
}
# What the server accepts can be wider than the slider: an absurd learning rate sent through the API is allowed
# on purpose, so the divergence guard can be seen at work.
ACCEPTED = {name: (low, high) for name, (low, high, _, _) in KNOBS.items()} | {
    "learning_rate": (1e-7, MAX_LEARNING_RATE)
}
DEFAULTS = {f.name: f.default for cls in (ModelConfig, TrainConfig) for f in fields(cls)}


START_CHOICES = {  # label -> init: "auto" starts from the base when the base knows the text's characters
    "a model that already reads English (recommended)": "auto",
    "random weights": "scratch",
}
START_INFO = (
    "Transfer learning: the base model was pretrained on 11 MB of English, so it only has to learn your "
    "text's style — {figure}. Random weights must learn spelling from your text alone, and memorise it."
)
# Measured by ``python -m bench.own_texts`` (README, "Your own text"): the tutorial's text, 60 s each.
TRANSFER_FIGURE = (
    "on the tutorial's 5k-character text it reaches 1.4 bits/char where random weights reach 3.1 (bzip2: 2.3)"
)
SHAPE = ("hidden_size", "num_layers", "embedding_size")


def _plan(text: str, seconds: float, init: str, auto: bool, keep_best: bool, knobs: dict, cell: str = "lstm") -> Plan:
    if init not in START_CHOICES.values():
        raise gr.Error(f"Start from must be {' or '.join(map(repr, START_CHOICES.values()))}, not {init!r}.")
    checked = {}
    for name, value in knobs.items():
        low, high = ACCEPTED[name]
        checked[name] = checks.number(value, name, low, high, integer=isinstance(KNOBS[name][2], int))
    overrides = {} if auto else checked
    keep_best = bool(keep_best)  # keep-best also ends a run that only memorises; keep-last runs the whole budget
    if cell not in CELLS:
        raise gr.Error(f"The cell must be one of {', '.join(CELLS)}, not {checks.shown(cell)}.")
    return plan(
        text,
        init,
        seconds,
        None,
        strict_shape=False,
        keep_best=keep_best,
        stop_when_memorising=keep_best,
        cell=cell,
        **overrides,
    )


def command(
    seconds: float, auto: bool, knobs: dict, init: str = "auto", keep_best: bool = True, cell: str = "lstm"
) -> str:
    """The ``python -m charlstm train`` command that trains the same way from a shell."""
    parts = ["python", "-m", "charlstm", "train", "--corpus", "corpus.txt", "--seconds", f"{seconds:g}"]
    parts += ["--init", init]
    if not auto:
        for name, value in knobs.items():
            if init == "scratch" or name not in SHAPE:
                parts += [f"--{name.replace('_', '-')}", f"{value:g}"]
    if cell != "lstm":  # another cell starts from random weights (the base model is an LSTM)
        parts += ["--cell", cell]
    if not keep_best:  # keep-last trains the whole budget (with auto, the CLI would stop a memorising run)
        parts += ["--no-keep-best", "--no-stop-when-memorising"] if init == "auto" else ["--no-keep-best"]
    elif init == "scratch":  # the app stops a memorising run; from scratch, the CLI must be asked to
        parts.append("--stop-when-memorising")
    return shlex.join([*parts, "--out", "model.safetensors", "--plot", "loss.png"])


def _frame(session: Session, status, samples, download, buttons, choice, moments, runs: bool = False) -> tuple:
    """One update of the Train tab's outputs (see ``outputs`` in :func:`build`); the runs' table and choices
    only with ``runs`` (a run's start and end: in between they do not change)."""
    compared = (runs_view.table(session), runs_view.run_choices(session)) if runs else (gr.skip(), gr.skip())
    return (runs_view.plot(session), status, samples, download, *buttons, choice, *moments, *compared)


def _run(session: Session, key: str, text: str, seconds: float, the_plan: Plan | None):
    """Shared body of Train and Continue: stream plot, status and samples; always leave the session usable."""
    buttons = (gr.update(interactive=False), gr.update(interactive=False), gr.update(interactive=True))
    with session.lock:
        if session.running:
            raise gr.Error("This session is already training: press Stop first.")
        session.running = True
        session.stop.clear()
    started, notes, last, run = time.perf_counter(), {}, None, None
    try:
        presence.require_reader(key, "this training's progress")
        if the_plan is not None:
            run, corpus = Run.start(text, the_plan)
            sessions.check_memory(session, run.memory_bytes(training=True))
            runs_view.start_run(session, summarize(run.init, run.model.config, the_plan.train_config, text))
            session.run, session.rows, session.samples, session.best_bpc = run, [], "", None
            session.timeline = time_machine.new_timeline()  # the time machine keeps this run's moments
            config = the_plan.train_config
        else:
            run = session.run
            run.notes.clear()
            corpus = run.corpus(text)  # may grow the vocabulary, and so the model
            sessions.check_memory(session, run.memory_bytes(training=True))
            config = replace(run.train_config or TrainConfig(), seconds=seconds, steps=None)
            if session.run_summary is None:  # an uploaded model: its first run here
                runs_view.start_run(session, summarize(run.init, run.model.config, config, text))
            if session.timeline is None:
                session.timeline = time_machine.new_timeline()
        session.best_at, session.moment = None, None  # the other tabs follow the model in training
        hidden = (gr.update(visible=False), gr.update(choices=[], value=None), gr.skip(), gr.skip())
        first = True
        notes |= {f"note{i}": note for i, note in enumerate(run.notes)}
        with closing(run.train(corpus, config)) as progress:
            for p in progress:
                last = p
                record(session, p, notes, config.keep_best)
                status = status_text(p, seconds, session, notes)
                # the buttons, the time machine and the runs' table change at a run's start: later frames
                # skip them (each property update is rebuilt on the server's event loop)
                yield _frame(session, status, session.samples, gr.skip(), buttons, gr.skip(), hidden, runs=first)
                buttons, hidden, first = (gr.skip(),) * 3, (gr.skip(),) * 4, False
                sessions.yield_to_interactive(session.stop)
                if session.stop.is_set():
                    notes["end"] = "**Stopped**: the weights learned so far are kept. Continue picks up from here."
                    break
        if not session.stop.is_set() and last is not None:
            notes["end"] = f"**Done** in {time.perf_counter() - started:.0f} s."
    except (CorpusError, ConfigError) as e:
        raise gr.Error(str(e)) from None
    finally:
        with session.lock:  # freeing the session (tab closed, expired) waits for this, and vice versa
            if run is not None and session.run is run and last is not None and not session.closed:
                session.publish()
                session.use_own = True
                run.save(session.download_path())
            session.last_seen = time.monotonic()  # the run counts as activity: not idle the moment it ends
            session.running = False
        sessions.trim_when_quiet()  # the run's temporaries (evaluations, keep-best and moment copies) go back
    status = status_text(last, seconds, session, notes) if last else ""
    buttons = (gr.update(interactive=True), gr.update(interactive=True), gr.update(interactive=False))
    choice = sessions.OWN_LABEL if session.use_own else gr.skip()
    moments = time_machine.updates(session)
    yield _frame(session, status, session.samples, str(session.download_path()), buttons, choice, moments, runs=True)


def train_model(
    text: str,
    seconds: float,
    auto: bool,
    hidden_size: float,
    num_layers: float,
    embedding_size: float,
    seq_len: float,
    batch_size: float,
    learning_rate: float,
    dropout: float,
    init: str = "auto",
    keep_best: bool = True,
    cell: str = "lstm",
    request: gr.Request = None,
):
    """Train a new model on ``text`` for ``seconds``, streaming the loss plot, status and samples."""
    text = checks.text(text, "The corpus", limits.CORPUS_MAX_CHARS)
    seconds = checks.number(seconds, "The time budget", 1, limits.TRAIN_MAX_SECONDS)
    knobs = dict(
        hidden_size=hidden_size,
        num_layers=num_layers,
        embedding_size=embedding_size,
        seq_len=seq_len,
        batch_size=batch_size,
        learning_rate=learning_rate,
        dropout=dropout,
    )
    try:
        the_plan = _plan(text, seconds, init, bool(auto), keep_best, knobs, cell)
    except ConfigError as e:
        raise gr.Error(str(e)) from None
    yield from _run(sessions.get(request), sessions.key_of(request), text, seconds, the_plan)


def continue_model(text: str, seconds: float, request: gr.Request):
    """Train this session's model further (its optimiser state kept; new characters join its vocabulary)."""
    text = checks.text(text, "The corpus", limits.CORPUS_MAX_CHARS)
    seconds = checks.number(seconds, "The time budget", 1, limits.TRAIN_MAX_SECONDS)
    session = sessions.get(request)
    session.check_lost()
    if session.run is None:
        raise gr.Error("There is no model of yours to continue yet: press Train, or upload a model.")
    yield from _run(session, sessions.key_of(request), text, seconds, None)


async def stop(request: gr.Request) -> str:
    """Ask this session's training to stop after the current step. A coroutine: it runs on the server's event
    loop at once, never waiting for a worker thread that heavy requests may all be holding."""
    session = sessions.find(request)  # never creates one: a Stop is never refused
    if session is None or not session.running:
        return "Nothing is training in this session."
    session.stop.set()
    return "Stopping…"


def show_runs(numbers: list[int] | None, request: gr.Request) -> dict:
    """Show only the chosen runs on the loss plot."""
    session = sessions.get(request)
    runs_view.choose_runs(numbers, session)
    return runs_view.plot(session)


def redraw_runs(request: gr.Request) -> dict:
    """The plot again, so the page rebuilds its chart from the rows it now has (see :func:`runs_view.plot`)."""
    return runs_view.plot(sessions.get(request))


def _knob(name: str, low: float, high: float, step: float, info: str) -> gr.components.Component:
    if name == "learning_rate":  # a box, not a slider: any rate the library allows can be tried, even absurd ones
        low, high = ACCEPTED[name]
        return widgets.Number(DEFAULTS[name], label=name, info=info, minimum=low, maximum=high, min_width=200)
    return widgets.Slider(low, high, value=DEFAULTS[name], step=step, label=name, info=info, min_width=200)


def build(corpus: gr.Textbox, choice: gr.Radio, moment: gr.Slider) -> gr.Radio:
    """The tab; returns the time machine's list of moments (the app wires it with the slider ``moment``)."""
    with gr.Tab("Train", id="train"):
        # Each control in its own column: a row of bare form controls never wraps, and on a phone the checkbox
        # beside it was squeezed to a sliver; columns with a minimum width wrap under each other instead.
        with gr.Row():
            with gr.Column(scale=3, min_width=300):
                init = widgets.Radio(
                    list(START_CHOICES.items()),  # (label, value): the API takes "auto" or "scratch"
                    value="auto",
                    label="Start from",
                    info=START_INFO.format(figure=TRANSFER_FIGURE),
                    elem_id="start-from",
                )
            with gr.Column(scale=2, min_width=260):
                keep_best = widgets.Checkbox(
                    DEFAULTS["keep_best"],
                    label="Keep the best weights",
                    info="End with the weights that scored best on the held-out text, and stop once the model "
                    "only memorises it; off: train the whole budget and keep the last weights.",
                    elem_id="keep-best",
                )
        with gr.Row():
            with gr.Column(scale=3, min_width=300):
                seconds = widgets.Slider(
                    1,
                    limits.TRAIN_MAX_SECONDS,
                    value=DEFAULTS["seconds"],
                    step=1,
                    label="Time budget (seconds)",
                    info=f"Training time of one run, up to {limits.TRAIN_MAX_SECONDS} s.",
                )
            with gr.Column(scale=2, min_width=260):
                auto = widgets.Checkbox(
                    True,
                    label="Automatic size",
                    info="Pick the model and batch from the corpus "
                    "length and the budget (tuned by the project's benchmark).",
                )
        with gr.Accordion("Model and training knobs (used when Automatic size is off)", open=False), gr.Row():
            knobs = [_knob(name, *spec) for name, spec in KNOBS.items()]
            cell = widgets.Radio(
                list(CELLS),
                value="lstm",
                label="cell",
                info="The recurrent cell: lstm (gated memory), gru (two gates) or rnn (no gate). Another cell than "
                "the LSTM starts from random weights: the base model is an LSTM.",
                min_width=200,
            )
        with gr.Row():
            start = gr.Button("Train", variant="primary", elem_id="train-button")
            halt = gr.Button("Stop", variant="stop", interactive=False, elem_id="stop-button")
            more = gr.Button("Continue", elem_id="continue-button")
        stop_note = gr.Markdown(elem_id="stop-note")  # Stop's answer: beside, so it never hides how a run ended
        status = gr.Markdown(
            "Press Train to start. The loss curves and samples appear as it learns.", elem_id="train-status"
        )
        plot = gr.LinePlot(
            None,  # an empty DataFrame here would fix the axis types wrongly and no line would ever be drawn
            x="seconds",
            y="bpc",
            color="series",
            label="Loss while training (bits per character, lower is better)",
            x_title="seconds of training",
            y_title="bits per character",
            elem_id="loss-plot",
        )
        with gr.Accordion("Compare runs: the last five on the plot", open=True, elem_id="runs"):
            gr.Markdown(runs_view.TRY_THIS)
            runs_shown = gr.CheckboxGroup(
                [], label="Runs on the plot", visible=False, elem_id="runs-shown", type="value"
            )
            runs = gr.Dataframe(
                headers=runs_view.TABLE_HEADERS, label="Each run's settings", interactive=False, elem_id="runs-table"
            )
        samples = gr.Textbox(
            label="Samples at each evaluation (temperature 0.8)",
            lines=8,
            max_lines=8,
            autoscroll=True,
            interactive=False,
        )
        jump, moment_a, moment_b = time_machine.build(moment)
        cells_view.build(corpus)
        cli = gr.Code(
            command(DEFAULTS["seconds"], True, {}),
            language="shell",
            wrap_lines=True,  # on a phone the whole command shows, not its first 40 characters
            label="The same training from a terminal",
            interactive=False,
        )
        with gr.Row():
            download = gr.File(label="Download your model (.safetensors)", interactive=False)
            uploaded = gr.File(
                label="Upload a model to continue or generate", file_types=[".safetensors"], type="filepath"
            )
        upload_note = gr.Markdown()
        with gr.Row():
            report_button = gr.Button("Download a report", elem_id="report-button")
            report_file = gr.File(label="A report of your run (one HTML file, opens offline)", interactive=False)

        outputs = [plot, status, samples, download, start, more, halt, choice, moment, jump, moment_a, moment_b]
        outputs += [runs, runs_shown]
        common = {
            "outputs": outputs,
            "concurrency_id": "train",
            "concurrency_limit": limits.CONCURRENT_TRAININGS,
            # progress and a refusal show on the status line only, never as a badge over the plot, the
            # buttons or the model chooser at the top of the page
            "show_progress_on": [status],
        }
        start.click(
            train_model,
            [corpus, seconds, auto, *knobs, init, keep_best, cell],
            api_name="train",
            validator=admission.admit_train,
            **common,
        )
        more.click(continue_model, [corpus, seconds], api_name="continue", validator=admission.admit_continue, **common)
        # Stop only sets a flag: its own group with no limit, so it never waits behind heavy requests
        halt.click(stop, None, stop_note, api_name="stop", concurrency_id="stop", concurrency_limit=None)
        start.click(lambda: "", None, stop_note, queue=False, api_visibility="private")  # a new run: no old answer
        uploaded.upload(
            uploads.upload_model, uploaded, [upload_note, choice], api_name="upload_model", concurrency_id="light"
        )
        runs_shown.input(show_runs, runs_shown, plot, api_visibility="private", concurrency_id="light").then(
            redraw_runs, None, plot, api_visibility="private", concurrency_id="light"
        )
        report_button.click(report.report, corpus, report_file, api_name="report", concurrency_id="light")
        gr.on(
            [seconds.change, auto.change, init.change, keep_best.change, cell.change, *[k.change for k in knobs]],
            lambda s, a, i, b, c, *k: command(s, a, dict(zip(KNOBS, k)), i, b, c),
            [seconds, auto, init, keep_best, cell, *knobs],
            cli,
            api_visibility="private",
            concurrency_id="light",
        )
        return jump
