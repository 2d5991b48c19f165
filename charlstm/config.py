"""Model and training settings: frozen dataclasses (the only home of each default), caps, named presets, auto sizing.

Every size a user can set is checked against a cap here, so an invalid configuration cannot exist: the CLI,
the app and checkpoint loading all go through these constructors and show their messages as they are.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from .machine.precision import PRECISIONS

# Caps: generous for a workstation, and small enough that one optimiser step stays well under a second on 2 cores.
DEFAULT_SECONDS = 60.0  # the training budget when none is given: the CLI's, the app's, the benchmarks'
MAX_EMBEDDING = 512
MAX_HIDDEN = 1024
MAX_LAYERS = 4
MAX_SEQ_LEN = 512
MAX_BATCH = 256
MAX_STEP_CHARS = 8192  # batch_size * seq_len
MAX_PARAMETERS = 20_000_000
MAX_STEP_FLOPS = 25e9  # one optimiser step: about 0.25 s on 2 CPU cores, so training can stop promptly
MAX_LEARNING_RATE = 1000.0  # absurd rates are allowed on purpose: the divergence guard handles them

# The recurrent cells a model can use, and the weight blocks each computes per step from its input and its past:
# the LSTM's input, forget, candidate and output; the GRU's reset, update and candidate; the plain RNN's one.
CELLS = ("lstm", "gru", "rnn")
GATE_BLOCKS = {"lstm": 4, "gru": 3, "rnn": 1}
CELL_NAMES = {"lstm": "an LSTM", "gru": "a GRU", "rnn": "a plain RNN"}  # as a sentence names one


class ConfigError(ValueError):
    """A setting outside its allowed range; the message names the setting and its range."""


def _check(name: str, value: Any, low: float, high: float, integer: bool = True) -> None:
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or not math.isfinite(value) or not low <= value <= high:
        what = "a whole number" if integer else "a number"
        raise ConfigError(f"{name} must be {what} from {low:g} to {high:g}, not {value!r}")


@dataclass(frozen=True)
class ModelConfig:
    """The network's shape (the vocabulary size comes from the vocabulary) and its recurrent cell."""

    embedding_size: int = 64
    hidden_size: int = 256
    num_layers: int = 1
    dropout: float = 0.0  # between recurrent layers and before the head; only active in training
    cell: str = "lstm"  # "lstm", "gru" or "rnn" (tanh): files from before this setting existed are LSTMs

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise ConfigError(f"cell must be one of {', '.join(CELLS)}, not {self.cell!r}")
        _check("embedding_size", self.embedding_size, 1, MAX_EMBEDDING)
        _check("hidden_size", self.hidden_size, 1, MAX_HIDDEN)
        _check("num_layers", self.num_layers, 1, MAX_LAYERS)
        _check("dropout", self.dropout, 0.0, 0.9, integer=False)

    def parameters(self, vocab_size: int) -> int:
        """Number of weights for a vocabulary of ``vocab_size`` ids."""
        E, H, L, V, G = self.embedding_size, self.hidden_size, self.num_layers, vocab_size, GATE_BLOCKS[self.cell]
        recurrent = G * H * (E + H + 2) + (L - 1) * G * H * (2 * H + 2)  # weights and two biases per block
        return V * E + recurrent + H * V + V

    def flops_per_char(self, vocab_size: int) -> int:
        """Multiply-add FLOPs of one forward step (2 per weight used); a training step costs three times this."""
        E, H, L, V, G = self.embedding_size, self.hidden_size, self.num_layers, vocab_size, GATE_BLOCKS[self.cell]
        return 2 * (G * H * (E + H) + (L - 1) * G * H * 2 * H + H * V)


@dataclass(frozen=True)
class TrainConfig:
    """How to train: batch shape, optimiser schedule and budget (seconds and/or steps; training stops at either)."""

    batch_size: int = 16
    seq_len: int = 64
    learning_rate: float = 1e-2  # peak: warms up, then decays along a cosine to final_lr_fraction of it
    final_lr_fraction: float = 0.1
    warmup_fraction: float = 0.03
    grad_clip: float = 1.0
    seconds: float | None = DEFAULT_SECONDS
    steps: int | None = None
    eval_interval: float = 2.0  # most seconds of training between evaluations (short budgets evaluate more often)
    # end with the best-validation weights if the last ones are worse (small corpora), and from a pretrained start
    # blended back toward it where that predicts held-out text better (charlstm.training._blend_back)
    keep_best: bool = True
    stop_when_memorising: bool = False  # end early once validation keeps rising while the training loss falls
    seed: int = 0
    precision: str = "auto"  # the forward pass's numbers: "fp32", "bf16", or "auto" (bf16 where native)

    def __post_init__(self) -> None:
        _check("batch_size", self.batch_size, 1, MAX_BATCH)
        _check("seq_len", self.seq_len, 1, MAX_SEQ_LEN)
        if self.batch_size * self.seq_len > MAX_STEP_CHARS:
            raise ConfigError(f"batch_size × seq_len must be at most {MAX_STEP_CHARS}")
        _check("learning_rate", self.learning_rate, 1e-7, MAX_LEARNING_RATE, integer=False)
        _check("final_lr_fraction", self.final_lr_fraction, 0.0, 1.0, integer=False)
        _check("warmup_fraction", self.warmup_fraction, 0.0, 0.5, integer=False)
        _check("grad_clip", self.grad_clip, 1e-3, 1e3, integer=False)
        _check("eval_interval", self.eval_interval, 0.05, 3600, integer=False)
        _check("seed", self.seed, 0, 2**63 - 1)
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, not {self.precision!r}")
        for name in ("keep_best", "stop_when_memorising"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false, not {getattr(self, name)!r}")
        if self.seconds is None and self.steps is None:
            raise ConfigError("give a training budget: seconds, steps or both")
        if self.seconds is not None:
            _check("seconds", self.seconds, 0.1, 7 * 24 * 3600, integer=False)
        if self.steps is not None:
            _check("steps", self.steps, 1, 10**9)


@dataclass(frozen=True)
class SampleConfig:
    """Generation settings; the sampling functions, the CLI and the app take their defaults from here."""

    length: int = 300
    temperature: float = 0.8  # 0 is greedy
    top_k: int = 0  # 0 keeps every character
    top_p: float = 1.0
    seed: int = 0


def validate_for_model(model: ModelConfig, train: TrainConfig, vocab_size: int) -> None:
    """Refuse a model, or a model and batch, too large for the caps; the message gives the size."""
    n = model.parameters(vocab_size)
    if n > MAX_PARAMETERS:
        raise ConfigError(f"this model would have {n:,} parameters; the cap is {MAX_PARAMETERS:,}")
    step = 3 * model.flops_per_char(vocab_size) * train.batch_size * train.seq_len
    if step > MAX_STEP_FLOPS:
        raise ConfigError(
            f"one training step would cost {step / 1e9:.0f} GFLOP; the cap is {MAX_STEP_FLOPS / 1e9:.0f}: "
            "lower the batch size, the sequence length or the model size"
        )


# Named presets: plain data. "auto" is not here: auto_config computes it from the corpus and the budget.
PRESETS: dict[str, tuple[ModelConfig, TrainConfig]] = {
    "tiny": (
        ModelConfig(embedding_size=16, hidden_size=64),
        TrainConfig(batch_size=16, seq_len=32, learning_rate=1e-2),
    ),
    "small": (ModelConfig(embedding_size=32, hidden_size=128), TrainConfig(batch_size=16, seq_len=64)),
    "medium": (ModelConfig(embedding_size=64, hidden_size=256), TrainConfig(batch_size=16, seq_len=64)),
    "large": (
        ModelConfig(embedding_size=64, hidden_size=512),
        TrainConfig(batch_size=16, seq_len=64, learning_rate=5e-3),
    ),
    "deep": (
        ModelConfig(embedding_size=64, hidden_size=256, num_layers=2, dropout=0.1),
        TrainConfig(batch_size=16, seq_len=64, learning_rate=6e-3),
    ),
}
PRESET_NAMES = ("auto", *PRESETS)


def auto_config(
    corpus_chars: int, seconds: float | None, base: ModelConfig | None = None, precision: str = "fp32"
) -> tuple[ModelConfig, TrainConfig]:
    """Pick a model and batch for a corpus of ``corpus_chars`` characters, a time budget and the number format
    training will compute in (``precision``, resolved: "fp32" or "bf16").

    From scratch (``base`` None), tuned with the benchmark on 2 CPU cores (see README): within a few minutes in
    float32, many small updates of one layer of 256 beat wider, deeper or larger-batch settings; only long runs
    on a large corpus afford 512 units. In bfloat16 a layer of 512 steps 1.7–1.8× faster than in float32 (a layer
    of 256 only 1.4×), and on a corpus of a million characters it wins from the first minute (BF16_RATE).
    Fine-tuning a pretrained model (``base``, its shape is kept) wants a gentler
    peak rate and, on small texts, dropout; the values come from ``python -m bench.own_texts --sweep`` on texts
    of 5k, 20k and 100k characters and ``python -m bench.payoff`` on texts of 3–4k (README, "Settings that fit
    the text").
    """
    seconds = seconds or DEFAULT_SECONDS
    if base is not None:
        dropout = _by_length(FINETUNE_DROPOUT, corpus_chars)
        return replace(base, dropout=dropout), TrainConfig(
            batch_size=16, seq_len=64, learning_rate=FINETUNE_RATE, seconds=seconds
        )
    if corpus_chars >= 1_000_000 and precision == "bf16":
        model, train = PRESETS["large"]
        train = replace(train, learning_rate=BF16_RATE)
    elif corpus_chars >= 1_000_000 and seconds >= 600:
        model, train = PRESETS["large"]
    else:
        model, train = PRESETS["medium"]
    return model, replace(train, seconds=seconds)


BF16_RATE = 4e-3  # the peak rate of the 1×512 model trained in bfloat16 (python -m charlstm bench, README)
# Fine-tuning settings by training-text length (characters, from this many on): measured, see auto_config.
FINETUNE_DROPOUT = ((0, 0.3), (300_000, 0.1))
# One peak rate at every length. The sweep (README) put 1e-3 a little ahead on a 20k text (by 0.013 bits/char) and
# 2e-3 ahead on a 5k one; on short texts a minute of a shared machine is ~100 updates, where 1e-3 had not yet left
# the base model's style (python -m bench.payoff --steps 100: the text's own words 4% -> 12%, held-out bits/char
# 1.87 -> 1.72), and the same best held-out figure comes in half the updates.
FINETUNE_RATE = 2e-3


def _by_length(table: tuple[tuple[int, float], ...], chars: int) -> float:
    """The value of the last row of ``table`` whose length ``chars`` has reached."""
    return [value for limit, value in table if chars >= limit][-1]


def to_dict(config: ModelConfig | TrainConfig) -> dict[str, Any]:
    return asdict(config)


def from_dict(cls: type, data: Any) -> Any:
    """Build ``cls`` from a dict, refusing unknown or missing keys with a clear message."""
    if not isinstance(data, dict):
        raise ConfigError(f"{cls.__name__} must be a JSON object")
    known = {f.name for f in fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"{cls.__name__} has unknown keys: {', '.join(sorted(unknown))}")
    try:
        return cls(**data)
    except TypeError as e:
        raise ConfigError(f"{cls.__name__}: {e}") from None
