"""Files visitors upload: text corpora and model checkpoints. Each is size-capped before it is read, decoded or
parsed with the library's strict readers, and never executed."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from charlstm import checkpoint
from charlstm.config import CELL_NAMES
from charlstm.data import CorpusError, decode_text
from charlstm.run import Run

from ..server import limits, memory, sessions


def checked_file(path: str | None) -> Path:
    """The uploaded file, if one arrived and it is within the upload cap."""
    if not path:
        raise gr.Error("No file arrived.")
    file = Path(path)
    size = file.stat().st_size
    if size > limits.UPLOAD_MAX_BYTES:
        raise gr.Error(f"{file.name} is {size:,} bytes; uploads are capped at {limits.UPLOAD_MAX_BYTES:,} bytes.")
    return file


def read_corpus_file(path: str | None) -> tuple[str, tuple[str, ...]]:
    """UTF-8 text, normalised and cut to the corpus cap; notes say what was cut."""
    file = checked_file(path)
    try:
        text = decode_text(file.read_bytes(), file.name)
    except CorpusError as e:
        raise gr.Error(str(e)) from None
    if len(text) <= limits.CORPUS_MAX_CHARS:
        return text, ()
    cap = limits.CORPUS_MAX_CHARS
    return text[:cap], (f"The file has {len(text):,} characters; only the first {cap:,} (the cap) are kept.",)


def upload_model(path: str | None, request: gr.Request) -> tuple[str, str]:
    """Load a .safetensors checkpoint as this session's model (to generate from or continue)."""
    file = checked_file(path)
    session = sessions.get(request)
    try:
        run = Run.resume(file)
        run.init = file.name  # its weights come from this file (the file's own "init" says where it began)
        c = run.model.config
        if c.hidden_size > limits.MODEL_MAX_HIDDEN or c.num_layers > limits.MODEL_MAX_LAYERS:
            raise checkpoint.CheckpointError(
                f"this app serves models up to {limits.MODEL_MAX_LAYERS} layers of {limits.MODEL_MAX_HIDDEN} units"
            )
    except checkpoint.CheckpointError as e:
        raise gr.Error(f"That model cannot be used: {e}.") from None
    memory.check_memory(session, run.memory_bytes(training=False))
    with session.lock:  # checked here, where a Train click cannot slip in between
        if session.running:
            raise gr.Error("Stop the training before loading another model.")
        session.run, session.use_own = run, True
        session.timeline = session.moment = None  # the time machine's moments were another model's
        session.publish()
    return (
        f"Loaded: {CELL_NAMES[c.cell]} of {c.num_layers}×{c.hidden_size}, vocabulary of {run.vocab.size - 1} "
        f"characters, trained {run.train_state.step:,} steps. Generate, Learn and Inside now use it; Continue "
        "trains it further.",
        sessions.OWN_LABEL,
    )
