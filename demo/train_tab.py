"""Train tab: automatic or hand-set size, a time budget, Train / Stop / Continue, a live loss plot, samples at
each evaluation, the equivalent command line, and model download and upload."""

from __future__ import annotations

import math
import shlex
import time
from contextlib import closing
from dataclasses import fields, replace

import gradio as gr
import pandas as pd

from charlstm import checkpoint
from charlstm.config import (
    MAX_LEARNING_RATE,
    ConfigError,
    ModelConfig,
    TrainConfig,
    auto_config,
    resolve,
    validate_for_model,
)
from charlstm.data import CorpusError, make_corpus
from charlstm.model import CharLSTM
from charlstm.training import Progress, new_state, train

from . import checks, limits, sessions, uploads
from .sessions import Session

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
MODEL_FIELDS = {f.name for f in fields(ModelConfig)}


def _configs(text_chars: int, seconds: float, auto: bool, knobs: dict) -> tuple[ModelConfig, TrainConfig]:
    checked = {}
    for name, value in knobs.items():
        low, high = ACCEPTED[name]
        checked[name] = checks.number(value, name, low, high, integer=isinstance(KNOBS[name][2], int))
    if auto:
        return auto_config(text_chars, seconds)
    return resolve("auto", text_chars, seconds, None, **checked)


def command(seconds: float, auto: bool, knobs: dict) -> str:
    """The ``python -m charlstm train`` command that trains the same way from a shell."""
    parts = ["python", "-m", "charlstm", "train", "--corpus", "corpus.txt", "--seconds", f"{seconds:g}"]
    if not auto:
        for name, value in knobs.items():
            parts += [f"--{name.replace('_', '-')}", f"{value:g}"]
    return shlex.join([*parts, "--out", "model.safetensors", "--plot", "loss.png"])


def _status(p: Progress, budget: float, session: Session, notes: dict[str, str]) -> str:
    best = f" · best validation **{session.best_bpc:.3f} bits/char**" if session.best_bpc is not None else ""
    line = (
        f"Step {p.step:,} · {p.elapsed:.1f} s trained (this run: {budget:g} s budget) · "
        f"{p.chars_per_s / 1000:.1f}k characters/s{best}"
    )
    return "\n\n".join([line, *notes.values()])


def _record(session: Session, p: Progress, notes: dict[str, str]) -> None:
    """Add a progress record to the session's plot and samples, and its message to the run's notes.

    Notes are kept by kind, so a divergence earlier in the run stays on screen when the run ends.
    """
    if p.train_loss is not None:
        session.rows.append({"seconds": round(p.elapsed, 2), "bpc": p.train_loss / math.log(2), "series": "train"})
    if p.val_bpc is not None and math.isfinite(p.val_bpc):
        session.rows.append({"seconds": round(p.elapsed, 2), "bpc": p.val_bpc, "series": "validation"})
        session.best_bpc = min(session.best_bpc or math.inf, p.val_bpc)
        session.samples += f"[{p.elapsed:.0f} s · validation {p.val_bpc:.2f} bits/char]\n{p.sample}\n\n"
        session.publish()
    if p.message:
        notes[p.kind] = f"⚠️ {p.message}"


def _run(session: Session, text: str, seconds: float, fresh: tuple[ModelConfig, TrainConfig] | None):
    """Shared body of Train and Continue: stream plot, status and samples; always leave the session usable."""
    buttons = (gr.update(interactive=False), gr.update(interactive=False), gr.update(interactive=True))
    with session.lock:
        if session.running:
            raise gr.Error("This session is already training: press Stop first.")
        session.running = True
        session.stop.clear()
    started, notes, last = time.perf_counter(), {}, None
    try:
        vocab = None if fresh else session.vocab
        corpus = make_corpus(text, vocab=vocab)
        if fresh:
            model_config, config = fresh
            validate_for_model(model_config, config, corpus.vocab.size)
            session.trainee, session.vocab = CharLSTM(model_config, corpus.vocab.size), corpus.vocab
            session.state, session.rows, session.samples, session.best_bpc = new_state(session.trainee), [], "", None
        else:
            config = replace(session.train_config or TrainConfig(), seconds=seconds, steps=None)
        session.train_config = config
        with closing(train(session.trainee, corpus, config, session.state)) as progress:
            for p in progress:
                last = p
                _record(session, p, notes)
                yield (
                    pd.DataFrame(session.rows),
                    _status(p, seconds, session, notes),
                    session.samples,
                    gr.skip(),
                    *buttons,
                    gr.skip(),
                )
                sessions.yield_to_interactive(session.stop)
                if session.stop.is_set():
                    notes["end"] = "⏹ Stopped: the weights learned so far are kept. Continue picks up from here."
                    break
        if not session.stop.is_set() and last is not None:
            notes["end"] = f"✅ Done in {time.perf_counter() - started:.0f} s."
    except (CorpusError, ConfigError) as e:
        raise gr.Error(str(e)) from None
    finally:
        with session.lock:  # freeing the session (tab closed, expired) waits for this, and vice versa
            if session.trainee is not None and last is not None and not session.closed:
                session.publish()
                session.use_own = True
                checkpoint.save(
                    session.download_path(), session.trainee, session.vocab, session.train_config, session.state
                )
            session.last_seen = time.monotonic()  # the run counts as activity: not idle the moment it ends
            session.running = False
    status = _status(last, seconds, session, notes) if last else ""
    yield (
        pd.DataFrame(session.rows) if session.rows else None,
        status,
        session.samples,
        str(session.download_path()),
        gr.update(interactive=True),
        gr.update(interactive=True),
        gr.update(interactive=False),
        sessions.OWN_LABEL if session.use_own else gr.skip(),
    )


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
    request: gr.Request,
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
        configs = _configs(len(text), seconds, bool(auto), knobs)
    except ConfigError as e:
        raise gr.Error(str(e)) from None
    yield from _run(sessions.get(request), text, seconds, configs)


def continue_model(text: str, seconds: float, request: gr.Request):
    """Train this session's model further (same vocabulary, optimiser state kept)."""
    text = checks.text(text, "The corpus", limits.CORPUS_MAX_CHARS)
    seconds = checks.number(seconds, "The time budget", 1, limits.TRAIN_MAX_SECONDS)
    session = sessions.get(request)
    if session.trainee is None:
        raise gr.Error("There is no model of yours to continue yet: press Train, or upload a model.")
    yield from _run(session, text, seconds, None)


def stop(request: gr.Request) -> str:
    """Ask this session's training to stop after the current step."""
    session = sessions.get(request)
    if not session.running:
        return "Nothing is training in this session."
    session.stop.set()
    return "Stopping…"


def _knob(name: str, low: float, high: float, step: float, info: str) -> gr.components.Component:
    if name == "learning_rate":  # a box, not a slider: any rate the library allows can be tried, even absurd ones
        low, high = ACCEPTED[name]
        return gr.Number(DEFAULTS[name], label=name, info=info, minimum=low, maximum=high, min_width=200)
    return gr.Slider(low, high, value=DEFAULTS[name], step=step, label=name, info=info, min_width=200)


def build(corpus: gr.Textbox, choice: gr.Radio) -> None:
    with gr.Tab("Train", id="train"):
        with gr.Row():
            seconds = gr.Slider(
                1,
                limits.TRAIN_MAX_SECONDS,
                value=DEFAULTS["seconds"],
                step=1,
                label="Time budget (seconds)",
                info=f"Training time of one run, up to {limits.TRAIN_MAX_SECONDS} s.",
                scale=3,
            )
            auto = gr.Checkbox(
                True,
                label="Automatic size",
                info="Pick the model and batch from the corpus "
                "length and the budget (tuned by the project's benchmark).",
                scale=2,
            )
        with gr.Accordion("Model and training knobs (used when Automatic size is off)", open=False), gr.Row():
            knobs = [_knob(name, *spec) for name, spec in KNOBS.items()]
        with gr.Row():
            start = gr.Button("Train", variant="primary", elem_id="train-button")
            halt = gr.Button("Stop", variant="stop", interactive=False, elem_id="stop-button")
            more = gr.Button("Continue", elem_id="continue-button")
        status = gr.Markdown(
            "Press Train to start. The loss curves and samples appear as it learns.", elem_id="train-status"
        )
        plot = gr.LinePlot(
            None,  # an empty DataFrame here would fix the axis types wrongly and no line would ever be drawn
            x="seconds",
            y="bpc",
            color="series",
            color_map={"train": "#0072B2", "validation": "#D55E00"},
            label="Loss while training (bits per character, lower is better)",
            x_title="seconds of training",
            y_title="bits per character",
            elem_id="loss-plot",
        )
        samples = gr.Textbox(
            label="Samples at each evaluation (temperature 0.8)",
            lines=8,
            max_lines=8,
            autoscroll=True,
            interactive=False,
        )
        cli = gr.Code(
            command(DEFAULTS["seconds"], True, {}),
            language="shell",
            label="The same training from a terminal",
            interactive=False,
        )
        with gr.Row():
            download = gr.File(label="Download your model (.safetensors)", interactive=False)
            uploaded = gr.File(
                label="Upload a model to continue or generate", file_types=[".safetensors"], type="filepath"
            )
        upload_note = gr.Markdown()

        outputs = [plot, status, samples, download, start, more, halt, choice]
        common = {
            "outputs": outputs,
            "concurrency_id": "train",
            "concurrency_limit": limits.CONCURRENT_TRAININGS,
            "validator": checks.text_validator("The corpus", limits.CORPUS_MAX_CHARS),
        }
        start.click(train_model, [corpus, seconds, auto, *knobs], api_name="train", **common)
        more.click(continue_model, [corpus, seconds], api_name="continue", **common)
        halt.click(stop, None, status, api_name="stop", concurrency_id="light")
        uploaded.upload(
            uploads.upload_model, uploaded, [upload_note, choice], api_name="upload_model", concurrency_id="light"
        )
        gr.on(
            [seconds.change, auto.change, *[k.change for k in knobs]],
            lambda s, a, *k: command(s, a, dict(zip(KNOBS, k))),
            [seconds, auto, *knobs],
            cli,
            api_visibility="private",
            concurrency_id="light",
        )
