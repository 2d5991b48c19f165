"""The training knobs the app offers, shared by the Train tab and the run report: each knob's slider range, step
and one-line help, the range the server accepts, the defaults (read from the config dataclasses, their only home)
and the app's choice of weights to end a run with."""

from __future__ import annotations

from dataclasses import fields

from charlstm.config import MAX_LEARNING_RATE, ModelConfig, TrainConfig

from ..server import limits

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
# The app ends a run with its latest weights, which know the learner's text (the best moment on held-out text is
# offered beside them, demo.tabs.writes); the library's default keeps the best (TrainConfig.keep_best).
KEEP_BEST = False
