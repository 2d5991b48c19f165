"""charlstm: a character-level LSTM library (with a GRU and a plain RNN beside it, to compare) to learn from,
train on any text, sample and look inside.

The pieces, each in its own module: :mod:`~charlstm.vocab` (characters ⇄ ids), :mod:`~charlstm.data`
(reading, splitting, batching), :mod:`~charlstm.config` (settings, caps, presets), :mod:`~charlstm.model`
(the network: an LSTM, GRU or plain RNN), :mod:`~charlstm.cell` (the gates, readable), :mod:`~charlstm.training`
(a generator of progress records), :mod:`~charlstm.sampling` (a generator of characters),
:mod:`~charlstm.checkpoint` (safetensors files), :mod:`~charlstm.transfer` (the base model, growing a vocabulary),
:mod:`~charlstm.run` (one training run: where it starts, its settings, its state), :mod:`~charlstm.lab.copying`
(what a text copies from the training text), :mod:`~charlstm.clamp` and :mod:`~charlstm.lab.steering` (one unit held
fixed: what it changes), :mod:`~charlstm.lab.reach` (how far back a prediction depends on what was read) and
:mod:`~charlstm.cli` (``python -m charlstm``).
"""

from .cell import GRUTrace, RNNTrace, Trace, trace
from .checkpoint import Checkpoint, CheckpointError, load, save
from .clamp import Clamp, ClampError
from .config import PRESETS, ConfigError, ModelConfig, TrainConfig, auto_config
from .data import Corpus, CorpusError, make_corpus, read_text
from .evaluation import Evaluation, evaluate
from .lab.copying import CopyIndex
from .lab.reach import Closing, Reach, closing_probability, memory_reach
from .lab.steering import Comparison, compare_clamped
from .model import CharLSTM
from .run import Plan, Run, plan
from .sampling import SamplingError, Step, char_probabilities, generate, lead_in, sample
from .training import Progress, TrainState, new_state, new_train_state, train
from .transfer import base_model, grow_vocab
from .vocab import Vocab

__all__ = [
    "PRESETS",
    "CharLSTM",
    "Checkpoint",
    "CheckpointError",
    "Clamp",
    "ClampError",
    "Closing",
    "Comparison",
    "ConfigError",
    "CopyIndex",
    "Corpus",
    "CorpusError",
    "Evaluation",
    "GRUTrace",
    "ModelConfig",
    "Plan",
    "Progress",
    "RNNTrace",
    "Reach",
    "Run",
    "SamplingError",
    "Step",
    "Trace",
    "TrainConfig",
    "TrainState",
    "Vocab",
    "auto_config",
    "base_model",
    "char_probabilities",
    "closing_probability",
    "compare_clamped",
    "evaluate",
    "generate",
    "grow_vocab",
    "lead_in",
    "load",
    "make_corpus",
    "memory_reach",
    "new_state",
    "new_train_state",
    "plan",
    "read_text",
    "sample",
    "save",
    "trace",
    "train",
]
