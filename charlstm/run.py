"""A training run: one object that knows its model, vocabulary, settings, optimiser state and history.

The command line, the app's Train and Continue buttons and model uploads all go through :class:`Run`, so a run
is put together in one place. A run starts from random weights ("scratch"), from a shipped base model that
already reads English ("base") or the world's common scripts ("multilingual"), or from any checkpoint file (its
weights, with a fresh optimiser); or it continues a checkpoint with its optimiser state (:meth:`Run.resume`).
:func:`plan` chooses where to start and the settings from the text's length, its characters and the time budget
("auto", the default everywhere).
"""

from __future__ import annotations

import copy
from collections.abc import Generator
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import torch

from . import checkpoint
from .config import (
    CELL_NAMES,
    DEFAULT_SECONDS,
    PRESETS,
    ConfigError,
    ModelConfig,
    TrainConfig,
    auto_config,
    validate_for_model,
)
from .data import Corpus, CorpusError, describe, make_corpus, normalize_text, val_size
from .machine.distributed import SINGLE, World
from .machine.precision import resolve_precision
from .model import CharLSTM
from .scripts import ascii_share, main_script
from .training import Progress, TrainState, corpus_lead_in, new_train_state, train
from .transfer import BASE_COVERAGE, BASE_NAMES, BASES, base_model, coverage, find_base, grow_vocab, narrow_vocab
from .vocab import MAX_VOCAB, Vocab

# Copies of the parameters a run holds, in float32: while training the weights, their gradients, Adam's two
# moments, the best weights kept (keep-best) and the finished copy that generation reads (and from a pretrained
# start one more: the start's weights, which keep-best's blend reads at the end); once trained, the weights, the
# moments and that copy.
TRAINING_COPIES = 6
TRAINED_COPIES = 4
BASE_MAX_CHARS = 5_000_000  # beyond this, a text has enough to learn from on its own (and auto trains from scratch)
ENGLISH_ASCII_SHARE = 0.99  # a Latin text with at least this share of plain ASCII letters starts from the English base
# Which base other Latin-script text (German, French…) starts from: "multilingual" (where installed) or "base".
# Measured with the first schedule's multilingual base (assets/multilingual-model.md; `python -m bench.own_texts --texts
# world --init auto`, one run each): it starts worse than the English base on German and Spanish (2.81 against 2.65,
# 2.17 against 2.05 bits/char) but after 60 s ends as well or better (German 2.21 against 2.23, French 2.36 against
# 2.43, Spanish 1.94 against 1.93) and writes more real words (93/100/69% against 92/95/11%).
LATIN_BASE = "multilingual"
# The peak fine-tuning rate from the multilingual base, any script. The first schedule's base had read little of each
# script and needed 4e-3 to move in a minute (Greek, 20k: 3.30–3.45 bits/char at 1e-3, 2.76–2.79 at 4e-3); the fifth
# schedule's reads them well, and a gentler rate keeps what it knows. `python -m bench.own_texts --texts world --init
# auto --learning-rate 1e-3` (60 s, seeds 0 and 1, eleventh session) against the tenth session's defaults (4e-3 for
# other scripts, 2e-3 for Latin letters): Greek 2.21–2.26 against 2.39, Arabic 2.80 against 2.84, Russian 1.98–2.00
# against 2.01–2.03, Japanese 2.95–2.99 against 2.98–3.02, Korean 3.15–3.17 against 3.18–3.22, Chinese 4.79–4.80
# against 4.79–4.85, German 2.14 against 2.15–2.16, French 2.37–2.38 against 2.35–2.43, Spanish 1.95–1.96 against
# 1.93–1.95 (assets/multilingual-model.md).
MULTILINGUAL_RATE = 1e-3
MODEL_FIELDS = {f.name for f in fields(ModelConfig)}


@dataclass(frozen=True)
class Plan:
    """What a new run will do, and why: where its weights start, its settings, and notes for the learner."""

    init: str  # "scratch", "base" or a checkpoint path
    model_config: ModelConfig
    train_config: TrainConfig
    notes: tuple[str, ...] = ()


def plan(
    text: str,
    init: str = "auto",
    seconds: float | None = DEFAULT_SECONDS,
    steps: int | None = None,
    preset: str = "auto",
    strict_shape: bool = True,
    device: torch.device | str = "cpu",
    max_vocab: int = MAX_VOCAB,
    **overrides: Any,
) -> Plan:
    """Choose the start and the settings for training on ``text``; ``overrides`` (None ignored) win over both.

    "auto" starts from the base model when the base knows at least :data:`BASE_COVERAGE` of the text's
    characters and the text is under :data:`BASE_MAX_CHARS`; otherwise from scratch, with a note saying why.
    ``device`` is where it will train: from scratch, the automatic size depends on its number format (a wider
    model where bfloat16 is native, :func:`charlstm.config.auto_config`).
    A pretrained start keeps its shape: a different hidden size, layer count or embedding is refused, or with
    ``strict_shape`` False (the app, where the knobs are always sent) left out with a note. Its cell too: the base
    model is an LSTM, so "auto" with ``cell`` "gru" or "rnn" starts from scratch (with a note), and a start from
    a file of another cell is refused (or, not strict, keeps the file's cell with a note). ``max_vocab``: the
    most characters the model will keep (:meth:`Run.start`'s), for the notes.
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    # too short, one character repeated, more characters than the model keeps...: said before any training
    notes = list(describe(text, max_vocab=max_vocab).warnings)
    chars = len(text)
    automatic = init == "auto"
    sized = preset != "auto" or any(k in given for k in MODEL_FIELDS - {"dropout", "cell"})
    if "cell" in given:
        ModelConfig(cell=given["cell"])  # an unknown cell is refused here, with the config's own message
    if automatic and given.get("cell", "lstm") != "lstm":  # the base model is an LSTM: another cell starts afresh
        init = "scratch"
        notes.append(
            f"Starting from random weights: the base model is an LSTM, and {CELL_NAMES[given['cell']]} "
            "cannot start from an LSTM's weights."
        )
    elif automatic and sized and strict_shape:  # a size was asked for: only a new model can have it
        init = "scratch"
        notes.append("Starting from random weights, since a model size was given.")
    elif automatic:
        init, why = _choose_init(text)
        notes.append(why)
    elif init != "scratch" and preset != "auto":
        raise ConfigError(f"a preset sets the size of a new model; {_name(init)} keeps its own: use --init scratch")
    if preset not in ("auto", *PRESETS):
        raise ConfigError(f"unknown preset {preset!r}; choose one of auto, {', '.join(PRESETS)}")
    if init == "scratch":
        # the automatic size depends on the number format: bfloat16 affords a wider model in the same time
        precision = resolve_precision(given.get("precision", "auto"), torch.device(device))
        model_config, config = PRESETS[preset] if preset != "auto" else auto_config(chars, seconds, precision=precision)
    else:
        start = _start_checkpoint(init)
        model_config, config = auto_config(chars, seconds, base=start.model_config)
        if init == "multilingual":
            config = replace(config, learning_rate=MULTILINGUAL_RATE)
        shape = {k: v for k, v in given.items() if k in MODEL_FIELDS - {"dropout"}}
        differs = {k: v for k, v in shape.items() if getattr(start.model_config, k) != v}
        c = start.model_config
        if "cell" in differs and strict_shape:
            raise ConfigError(
                f"{_name(init)} is {CELL_NAMES[c.cell]}: {CELL_NAMES[differs['cell']]} cannot start from its "
                "weights; use --init scratch"
            )
        kept = f"keeps its shape ({c.num_layers}×{c.hidden_size} {c.cell.upper()}, embedding {c.embedding_size})"
        if differs and strict_shape:
            raise ConfigError(
                f"a run that starts from {_name(init)} {kept}; {', '.join(differs)} can only change from scratch"
            )
        if differs:
            notes.append(
                f"Starting from {_name(init)}, the model {kept}: {', '.join(differs)} apply to random weights."
            )
        given = {k: v for k, v in given.items() if k not in differs}
    if automatic:  # the automatic choice also ends a run that only memorises ("--init scratch" does not)
        config = replace(config, stop_when_memorising=True)
    model_config = replace(model_config, **{k: v for k, v in given.items() if k in MODEL_FIELDS})
    config = replace(config, seconds=seconds, steps=steps, **{k: v for k, v in given.items() if k not in MODEL_FIELDS})
    return Plan(init, model_config, config, tuple(notes))


def _choose_init(text: str) -> tuple[str, str]:
    """The base to start from ("base", "multilingual") or "scratch", and why, in the learner's words.

    A base qualifies when it knows :data:`BASE_COVERAGE` of the text's characters. Of those, a text in plain
    ASCII letters (English) starts from the English base, whose small vocabulary steps fastest, and so does other
    Latin-script text while :data:`LATIN_BASE` says so; any other text from the multilingual base where installed.
    """
    installed = [b for b in BASES if b.path.exists()]
    if not installed:
        return "scratch", "Starting from random weights: no base model is installed."
    script = main_script(text)
    known = {b.name: coverage(base_model(b.name).vocab, text) for b in installed}
    fits = [b for b in installed if known[b.name] >= BASE_COVERAGE]
    if not fits:
        scripts = sorted({s for b in installed for s in b.reads})
        who = "the base model knows only" if len(installed) == 1 else "the base models know at most"
        reads = f"it reads {scripts[0]}" if len(scripts) == 1 else f"they read {', '.join(scripts)}"
        return "scratch", (
            f"Starting from random weights: no base model reads {script or 'these characters'} ({who} "
            f"{max(known.values()):.0%} of this text's characters; {reads}). It learns the letters from your text "
            "alone, which takes longer."
        )
    if len(text) > BASE_MAX_CHARS:
        return "scratch", f"Starting from random weights: {len(text):,} characters are enough to learn from alone."
    latin = script in (None, "Latin letters")
    english = latin and (LATIN_BASE == "base" or ascii_share(text) >= ENGLISH_ASCII_SHARE)
    chosen = next((b for b in fits if b.name == "base"), fits[0]) if english else fits[-1]
    if chosen.name == "base" and ascii_share(text) < ENGLISH_ASCII_SHARE:  # German, French…: say what it lacks
        return chosen.name, (
            f"Starting from {chosen.title}, which already reads English and knows the accented Latin letters: it "
            "has your text's language and style to learn."
        )
    return chosen.name, (
        f"Starting from {chosen.title}, which already reads {chosen.reading(script)}: it only has to learn your "
        "text's style."
    )


def _start_checkpoint(init: str) -> checkpoint.Checkpoint:
    return base_model(init) if init in BASE_NAMES else checkpoint.load(init)


def _name(init: str) -> str:
    return find_base(init).title if init in BASE_NAMES else Path(init).name


@dataclass
class Run:
    """A model with everything that training it needs and produces.

    ``init`` says where its weights started ("scratch", "base" or a file name); ``notes`` are things the
    learner should know (the vocabulary grew, why this start). ``train_ids`` is the text it learned from last
    (for marking generated text that copies it), and ``lead_in`` that text's end, which writing from the model
    starts from unseen (:func:`charlstm.sampling.lead_in`).
    """

    model: CharLSTM
    vocab: Vocab
    train_state: TrainState
    train_config: TrainConfig | None = None
    init: str = "scratch"
    notes: list[str] = field(default_factory=list)
    train_ids: torch.Tensor | None = None
    lead_in: str = ""

    @property
    def state(self) -> TrainState:
        """The old name of :attr:`train_state`, kept as an alias ("state" alone is also the model's (h, c))."""
        return self.train_state

    @state.setter
    def state(self, value: TrainState) -> None:
        self.train_state = value

    @classmethod
    def start(
        cls,
        text: str,
        the_plan: Plan,
        *,
        val_text: str | None = None,
        vocab: Vocab | None = None,
        device: torch.device | str = "cpu",
        max_vocab: int = MAX_VOCAB,
    ) -> tuple[Run, Corpus]:
        """A new run for ``text`` as ``the_plan`` says, with the corpus it trains on. From scratch, ``vocab``
        replaces the text's own characters (the base model was made with :meth:`Vocab.latin`), else the text's
        ``max_vocab`` most frequent are kept; from a pretrained model, its vocabulary grows to at most ``max_vocab``
        characters (:meth:`corpus`)."""
        text = normalize_text(text)
        if the_plan.init == "scratch":
            corpus = make_corpus(text, val_text=val_text, vocab=vocab, max_vocab=max_vocab)
            validate_for_model(the_plan.model_config, the_plan.train_config, corpus.vocab.size)
            model = CharLSTM(the_plan.model_config, corpus.vocab.size).to(device)
            run = cls(
                model, corpus.vocab, new_train_state(model), the_plan.train_config, "scratch", list(the_plan.notes)
            )
            return run, corpus
        start = _start_checkpoint(the_plan.init)
        model, vocab = start.model, start.vocab
        if the_plan.init == "multilingual":  # only the rows this text needs: its large vocabulary steps slowly
            model, vocab = narrow_vocab(model, vocab, text)
        model = copy.deepcopy(model).to(device)  # never train the shared base in place
        if model.config.dropout != the_plan.model_config.dropout:
            model = _with_config(model, the_plan.model_config)
        run = cls(model, vocab, new_train_state(model), the_plan.train_config, _label(the_plan.init))
        run.notes += the_plan.notes
        corpus = run.corpus(text, val_text, max_vocab)
        return run, corpus

    @classmethod
    def resume(cls, source: str | Path | bytes, device: torch.device | str = "cpu") -> Run:
        """Continue a checkpoint: its weights, vocabulary, settings, counters and (if saved) optimiser state."""
        loaded = checkpoint.load(source, device)
        return cls(loaded.model, loaded.vocab, loaded.train_state, loaded.train_config, loaded.init)

    def corpus(self, text: str, val_text: str | None = None, max_vocab: int = MAX_VOCAB) -> Corpus:
        """Encode ``text`` for this run; characters the model lacks are added to its vocabulary first (the most
        frequent, up to ``max_vocab`` characters in all)."""
        text = normalize_text(text)
        if len(text.strip()) == 0:
            raise CorpusError("the corpus is empty: paste or upload some text")
        n_val = val_size(len(text)) if val_text is None else 0
        grown, vocab, added = grow_vocab(self.model, self.vocab, text[: len(text) - n_val], max_vocab)
        if added:  # a new model object: the optimiser starts afresh (its moments had the old shapes)
            self.model, self.vocab = grown, vocab
            self.train_state = replace(self.train_state, optimizer=new_train_state(self.model).optimizer)
            shown = "".join(added[:20]) + ("…" if len(added) > 20 else "")
            self.notes.append(
                f"Added {len(added)} new character{'s' if len(added) > 1 else ''} to the model's vocabulary: "
                f"{shown} (they start out as the unknown character)."
            )
        return make_corpus(text, val_text=val_text, vocab=self.vocab)

    def train(
        self, corpus: Corpus, config: TrainConfig | None = None, world: World = SINGLE, steps_done: int = 0
    ) -> Generator[Progress, None, None]:
        """Train on ``corpus`` (made by :meth:`corpus`) with ``config`` (default: the run's own settings);
        ``world`` is this process's place under torchrun; ``steps_done`` are steps of the budget that an earlier,
        interrupted run already took (the schedule and the step budget continue from there)."""
        config = config or self.train_config
        if config is None:
            raise ConfigError("give training settings: this run has none of its own")
        validate_for_model(self.model.config, config, self.vocab.size)
        self.train_config, self.train_ids, self.lead_in = config, corpus.train, corpus_lead_in(corpus)
        fresh_head = self.init == "scratch"  # a pretrained head already knows the characters' frequencies
        return train(
            self.model, corpus, config, self.train_state, start_head=fresh_head, world=world, steps_done=steps_done
        )

    def continued(self, seconds: float | None, steps: int | None = None, **changes: Any) -> TrainConfig:
        """The settings to continue this run with: its own (the defaults when it has none: an uploaded model's
        may not say), with a new budget and any ``changes``."""
        return replace(self.train_config or TrainConfig(), seconds=seconds, steps=steps, **changes)

    def memory_bytes(self, training: bool) -> int:
        """The memory this run holds (estimated from its parameter count), while training or once trained."""
        params = sum(p.numel() for p in self.model.parameters())
        # from a pretrained start with keep-best, its start's weights too (the blend's; counted for a continuation
        # as well, which keeps none: a copy too many rather than one too few)
        blends = self.init != "scratch" and (self.train_config is None or self.train_config.keep_best)
        return params * 4 * (TRAINING_COPIES + blends if training else TRAINED_COPIES)

    def to_bytes(self, include_optimizer: bool = True) -> bytes:
        return checkpoint.to_bytes(
            self.model, self.vocab, self.train_config, self.train_state, include_optimizer, init=self.init
        )

    def save(self, path: str | Path, include_optimizer: bool = True) -> Path:
        return checkpoint.save(
            path, self.model, self.vocab, self.train_config, self.train_state, include_optimizer, init=self.init
        )


def _label(init: str) -> str:
    return init if init in ("scratch", *BASE_NAMES) else Path(init).name


@torch.no_grad()
def _with_config(model: CharLSTM, config: ModelConfig) -> CharLSTM:
    """The same weights in a model built with ``config`` (only dropout may differ)."""
    rebuilt = CharLSTM(config, model.vocab_size).to(model.device)
    rebuilt.load_state_dict(model.state_dict())
    return rebuilt
