"""Train tab: the run's status and live loss plot, with everything else in closed sections: the settings
(time budget, where to start, size), every sample, compare runs, the time machine, why gates, the equivalent
command line, and model download, upload and report. Train, Stop and Continue are the path's, at the top of the
page (:mod:`demo.tabs.quickstart`), as is the model's writing (:mod:`demo.tabs.writes`)."""

from __future__ import annotations

import time
from contextlib import closing

import gradio as gr

from charlstm.cli import train_command
from charlstm.config import CELLS, ConfigError, SampleConfig
from charlstm.data import CorpusError, describe, normalize_text
from charlstm.lab.run_changes import summarize
from charlstm.paths import MULTILINGUAL_MODEL_PATH
from charlstm.run import Plan, Run, plan

from ..drawing import widgets
from ..server import admission, checks, limits, memory, presence, scheduling, sessions
from ..server.sessions import Session
from . import cells_view, quickstart, report, runs_view, time_machine, uploads, writes
from .knobs import ACCEPTED, DEFAULTS, KEEP_BEST, KNOBS
from .train_view import record, samples_text, status_text

MULTILINGUAL = MULTILINGUAL_MODEL_PATH.exists()  # the base for other languages and scripts is installed
START_CHOICES = {  # label -> init: "auto" starts from a base that knows the text's characters (the note says which)
    f"a model that already reads {'your text’s script' if MULTILINGUAL else 'English'} (recommended)": "auto",
    "random weights": "scratch",
}
START_INFO = (
    "Transfer learning: the base model has read 11 MB of English"
    + (" (and another 28 MB in 20 languages and 7 scripts)" if MULTILINGUAL else "")
    + ", so it only has to learn your text's style — {figure}. Random weights must learn spelling from your text alone."
)
# Measured by ``python -m bench.own_texts`` (README, "Your own text"): the tutorial's text, 60 s each.
TRANSFER_FIGURE = "on a 5k-character text its guesses are twice as sure as those of random weights after a minute"
# Train and Continue open this tab in the page itself (no round trip), and clear Stop's last answer.
TO_TRAIN_TAB = "() => { document.querySelector('[role=tab][data-tab-id=train]')?.click(); return ''; }"
FIRST_PLAN = {"seconds": DEFAULTS["seconds"], "auto": True, "init": "auto", "keep_best": KEEP_BEST, "cell": "lstm"}
IDLE_STATUS = (
    "Press **Train ▶** (at the top) to learn your text. The loss curve draws here as it learns, and the model "
    "writes under ③."
)


def _plan(text: str, seconds: float, init: str, auto: bool, keep_best: bool, knobs: dict, cell: str = "lstm") -> Plan:
    if init not in START_CHOICES.values():
        raise gr.Error(f"Start from must be {' or '.join(map(repr, START_CHOICES.values()))}, not {init!r}.")
    checked = {}
    for name, value in knobs.items():
        low, high = ACCEPTED[name]
        checked[name] = checks.number(value, name, low, high, integer=isinstance(KNOBS[name][2], int))
    overrides = {} if auto else checked
    keep_best = bool(keep_best)
    if cell not in CELLS:
        raise gr.Error(f"The cell must be one of {', '.join(CELLS)}, not {checks.shown(cell)}.")
    return plan(
        text,
        init,
        seconds,
        None,
        strict_shape=False,
        keep_best=keep_best,
        # Either way a run that only memorises ends: reciting the text is not learning it (python -m bench.payoff:
        # on a quiet machine a minute's latest weights copied 100% of what they wrote).
        stop_when_memorising=True,
        cell=cell,
        **overrides,
    )


def _frame(session: Session, status, samples, download, buttons, choice, moments, written, runs: bool = False):
    """One update of the Train tab's outputs (see ``outputs`` in :func:`build`); the runs' table and choices
    only with ``runs`` (a run's start and end: in between they do not change), and then the plot is shown (it
    stays hidden until a run has something to draw)."""
    compared = (runs_view.table(session), runs_view.run_choices(session)) if runs else (gr.skip(), gr.skip())
    plot = runs_view.plot(session)
    if runs:
        plot = {**plot, "visible": True} if isinstance(plot, dict) else gr.update(value=plot, visible=True)
    return (plot, status, samples, download, *buttons, choice, *moments, *compared, *written)


def _learning(text: str) -> str:
    """What a run learns, in the learner's words (the status's first note)."""
    stats = describe(text)
    return (
        f"Learning your text: {stats.chars:,} characters ({stats.train_chars:,} to learn from, {stats.val_chars:,} "
        "held out to check how well it guesses text it has not seen)."
    )


def _run(session: Session, key: str, text: str, seconds: float, the_plan: Plan | None):
    """Shared body of Train and Continue: stream plot, status, samples and the writing; always leave the session
    usable."""
    buttons = (gr.update(interactive=False), gr.update(interactive=False), gr.update(interactive=True))
    with sessions.training(session):  # refuses a second run; at the end, counts as activity, returns memory
        started, notes, last, run = time.perf_counter(), {"start": _learning(normalize_text(text))}, None, None
        try:
            presence.require_reader(key, "this training's progress")
            if the_plan is not None:
                run, corpus = Run.start(text, the_plan)
                memory.check_memory(session, run.memory_bytes(training=True))
                runs_view.start_run(session, summarize(run.init, run.model.config, the_plan.train_config, text))
                session.run, session.rows, session.samples, session.best_bpc = run, [], [], None
                session.timeline = time_machine.new_timeline()  # the time machine keeps this run's moments
                config = the_plan.train_config
            else:
                run = session.run
                run.notes.clear()
                corpus = run.corpus(text)  # may grow the vocabulary, and so the model
                memory.check_memory(session, run.memory_bytes(training=True))
                config = run.continued(seconds)
                if session.compared.summary is None:  # an uploaded model: its first run here
                    runs_view.start_run(session, summarize(run.init, run.model.config, config, text))
                if session.timeline is None:
                    session.timeline = time_machine.new_timeline()
            # the other tabs follow the model in training
            session.best_at, session.kept_from, session.blend, session.moment = None, None, None, None
            hidden = time_machine.hidden()
            first = True
            written = (
                writes.training(),
                gr.update(visible=False, choices=[], value=None),
                gr.update(interactive=False),
            )
            notes |= {f"note{i}": note for i, note in enumerate(run.notes)}
            with closing(scheduling.in_background(run.train(corpus, config))) as progress:
                for p in progress:
                    last = p
                    newest = record(session, p, notes, config.keep_best)
                    status = status_text(p, seconds, session, notes)
                    samples = gr.skip()
                    if newest is not None:  # an evaluation: a new sample, written under ③ and added to the list
                        written, samples = (newest, *written[1:]), samples_text(session)
                    # the buttons, the time machine and the runs' table change at a run's start: later frames
                    # skip them (each property update is rebuilt on the server's event loop)
                    yield _frame(session, status, samples, gr.skip(), buttons, gr.skip(), hidden, written, first)
                    buttons, hidden, first = (gr.skip(),) * 3, (gr.skip(),) * 4, False
                    written = (gr.skip(),) * 3
                    scheduling.yield_to_interactive(session.stop)
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
                    scheduling.call_in_background(run.save, session.download_path())
    status = status_text(last, seconds, session, notes) if last else ""
    buttons = (gr.update(interactive=True), gr.update(interactive=True), gr.update(interactive=False))
    choice = gr.update(value=sessions.OWN_LABEL, visible=True) if session.use_own else gr.skip()
    moments = time_machine.updates(session)
    if session.model is not None and session.use_own:
        # the visitor waits for this text, so trainings pause for it; yet it is a run's own end, so the room's
        # generations go first (one address training again and again would otherwise take their core)
        with scheduling.interactive():
            shown, pick = scheduling.call_in_background(writes.after_run, session)
        written = (shown, pick, gr.update(interactive=True))
    else:
        written = (gr.skip(),) * 3
    download = str(session.download_path())
    # the writing above takes a moment: the visitor is still here (a script downloads the model next), so the
    # session is not idle from before it
    session.last_seen = time.monotonic()
    yield _frame(session, status, samples_text(session), download, buttons, choice, moments, written, runs=True)


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
    keep_best: bool = KEEP_BEST,
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


def plan_note(seconds: float, auto: bool, init: str, keep_best: bool, cell: str) -> str:
    """The line under Train at the top: the budget and where the run starts (kept to a line or two, so the
    path never changes height)."""
    start = "random weights" if init == "scratch" or cell != "lstm" else "the English base model"
    size = "" if auto else ", your size"
    end = ", keeping the best" if keep_best else ""
    return f"{seconds:g} s from {start}{size}{end}."


def build(path: quickstart.Path, choice: gr.Radio) -> tuple[gr.Radio, gr.Slider, gr.Markdown]:
    """The tab, wired to the path's Train, Stop and Continue; returns the time machine's list of moments, its
    slider and its note (the app wires them to Learn and Inside)."""
    corpus, start, halt, more, stop_note = path.text, path.train, path.stop, path.more, path.stopped
    with gr.Tab("Train", id="train", elem_id="train-panel"):
        # The run's status and plot first: in view from Train to the run's end, with nothing above them that
        # changes height. Everything else waits in closed sections.
        status = gr.Markdown(IDLE_STATUS, label="Status", elem_id="train-status")
        plot = gr.LinePlot(
            None,  # an empty DataFrame here would fix the axis types wrongly and no line would ever be drawn
            x="seconds",
            y="bpc",
            color="series",
            label="Loss while training (bits per character, lower is better)",
            x_title="seconds trained",  # (short: a projector draws it at 20 px, and Vega cuts a long title)
            y_title="bits per character",
            color_title="",  # the legend's lines (train, validation, runs) name themselves: no "series" above them
            height=220,  # the lines, their axes and their legend in view under the status, on a 768-px screen
            visible=False,  # until a run has something to draw
            elem_id="loss-plot",
        )
        with gr.Accordion("Settings: time budget, where to start, size", open=False, elem_id="train-settings"):
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
                    keep_best = widgets.Checkbox(
                        KEEP_BEST,
                        label="Keep the best weights",
                        info="On: end with the weights that guessed the held-out text best, and stop once the model "
                        "only memorises. Off: end with the latest weights, which know your text (the best moment is "
                        "offered beside them); a run that only memorises still stops.",
                        elem_id="keep-best",
                    )
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
                    auto = widgets.Checkbox(
                        True,
                        label="Automatic size",
                        info="Pick the model and batch from the text's length and the budget (tuned by the "
                        "project's benchmark); off: the knobs below.",
                    )
            with gr.Row(elem_id="train-knobs"):
                knobs = [_knob(name, *spec) for name, spec in KNOBS.items()]
                cell = widgets.Radio(
                    list(CELLS),
                    value="lstm",
                    label="cell",
                    info="The recurrent cell: lstm (gated memory), gru (two gates) or rnn (no gate). Another cell "
                    "than the LSTM starts from random weights: the base model is an LSTM.",
                    min_width=200,
                )
        with gr.Accordion("Every sample, newest first", open=False, elem_id="train-samples"):
            samples = gr.Textbox(
                label=f"Samples at each evaluation (temperature {SampleConfig.temperature:g})",
                lines=8,
                max_lines=16,
                interactive=False,
                elem_id="samples",
            )
        with gr.Accordion("Compare runs: the last five on the plot", open=False, elem_id="runs"):
            gr.Markdown(runs_view.TRY_THIS)
            runs_shown = gr.CheckboxGroup(
                [], label="Runs on the plot", visible=False, elem_id="runs-shown", type="value"
            )
            runs = gr.Dataframe(
                headers=runs_view.TABLE_HEADERS, label="Each run's settings", interactive=False, elem_id="runs-table"
            )
        moment, moment_note, jump, moment_a, moment_b = time_machine.build()
        cells_view.build(corpus)
        with gr.Accordion("The same training from a terminal", open=False, elem_id="train-command"):
            cli = gr.Code(
                train_command(DEFAULTS["seconds"], True, {}, keep_best=KEEP_BEST),
                language="shell",
                wrap_lines=True,  # on a phone the whole command shows, not its first 40 characters
                label="The same training from a terminal",
                show_label=False,
                interactive=False,
            )
        with gr.Accordion("Download, upload, report", open=False, elem_id="train-files"):
            with gr.Row():
                download = gr.File(label="Download your model (.safetensors)", interactive=False)
                uploaded = gr.File(
                    label="Upload a model to continue or generate", file_types=[".safetensors"], type="filepath"
                )
            upload_note = gr.Markdown(label="Upload")
            with gr.Row():
                report_button = gr.Button("Download a report", elem_id="report-button")
                report_file = gr.File(label="A report of your run (one HTML file, opens offline)", interactive=False)

        outputs = [plot, status, samples, download, start, more, halt, choice, moment, jump, moment_a, moment_b]
        outputs += [runs, runs_shown, path.writes, path.pick, path.again]
        common = {
            "outputs": outputs,
            "concurrency_id": "train",
            "concurrency_limit": limits.CONCURRENT_TRAININGS,
            # progress and a refusal show on the status line only, never as a badge over the plot, the
            # buttons or the model chooser at the top of the page
            "show_progress_on": [status],
        }
        # A run shows on this tab: its status and plot come into view. Registered first: the page runs a click's
        # events one after another, each to its end, and a training streams until the run is over.
        for button in (start, more):
            button.click(None, None, stop_note, js=TO_TRAIN_TAB, api_visibility="private")
        trained = start.click(
            train_model,
            [corpus, seconds, auto, *knobs, init, keep_best, cell],
            api_name="train",
            validator=admission.admit_train,
            **common,
        )
        continued = more.click(
            continue_model, [corpus, seconds], api_name="continue", validator=admission.admit_continue, **common
        )
        # Stop only sets a flag: its own group with no limit, so it never waits behind heavy requests
        halt.click(stop, None, stop_note, api_name="stop", concurrency_id="stop", concurrency_limit=None)
        for event in (trained, continued):  # a refused or failed run leaves the buttons as they were
            event.failure(_buttons_back, None, [start, more, halt], queue=False, api_visibility="private")
            # Stop's "Stopping…" is answered by the run's end: the note goes with it (the status says how it ended)
            event.then(lambda: "", None, stop_note, queue=False, api_visibility="private")
        uploaded.upload(
            uploads.upload_model, uploaded, [upload_note, choice], api_name="upload_model", concurrency_id="light"
        ).then(_upload_done, None, [more, path.again], api_visibility="private", queue=False)
        runs_shown.input(show_runs, runs_shown, plot, api_visibility="private", concurrency_id="light").then(
            redraw_runs, None, plot, api_visibility="private", concurrency_id="light"
        )
        report_button.click(report.report, corpus, report_file, api_name="report", concurrency_id="light")
        path.again.click(
            writes.write_again,
            None,
            path.writes,
            api_visibility="private",
            concurrency_id="generate",
            concurrency_limit=limits.CONCURRENT_GENERATIONS,
        )
        settings = [seconds, auto, init, keep_best, cell]
        gr.on(
            [s.change for s in (*settings, *knobs)],
            lambda s, a, i, b, c, *k: train_command(s, a, dict(zip(KNOBS, k)), i, b, c),
            [*settings, *knobs],
            cli,
            api_visibility="private",
            concurrency_id="light",
        )
        gr.on(
            [s.change for s in settings],
            plan_note,
            settings,
            path.plan,
            api_visibility="private",
            concurrency_id="light",
        )
        return jump, moment, moment_note


def _buttons_back(request: gr.Request) -> tuple:
    """After a refusal: Train on, Stop off, Continue on only if there is a run to continue."""
    has_run = sessions.get(request).run is not None
    return gr.update(interactive=True), gr.update(interactive=has_run), gr.update(interactive=False)


def _upload_done(request: gr.Request) -> tuple:
    """An uploaded model can be continued and written with."""
    has_model = sessions.get(request).model is not None
    return gr.update(interactive=has_model), gr.update(interactive=has_model)
