"""Checkpoints: one ``.safetensors`` file that describes itself, and a loader that trusts nothing in it.

The file holds the weights (``model.*``), optionally the Adam moments for continuing (``optimizer.*``), and in
its metadata a format version, the vocabulary, the model and training configs, counters and a short loss
history. Loading reads and checks the header (sizes, offsets, dtypes, every shape against the config) before
any tensor data is touched; nothing is ever unpickled.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from .cell import trace
from .config import ConfigError, ModelConfig, TrainConfig, from_dict, to_dict, validate_for_model
from .model import CharLSTM
from .renamed import renamed
from .training import HISTORY_LIMIT, TrainState, new_train_state
from .vocab import Vocab, VocabError

FORMAT = "charlstm"
FORMAT_VERSION = 1
MAX_FILE_BYTES = 128 * 1024 * 1024  # the parameter cap in float32 with Adam moments, plus room
MAX_HEADER_BYTES = 1024 * 1024
_DTYPES = {"F32": 4}
_OPTIMIZER_SLOTS = ("exp_avg", "exp_avg_sq", "step")


class CheckpointError(ValueError):
    """A file that is not a usable charlstm checkpoint; the message says what is wrong with it."""


@dataclass
class Checkpoint:
    """A loaded model with everything that describes it; ``train_state`` holds the optimiser's moments when the file
    did (``state`` is its old name, kept as an alias)."""

    model: CharLSTM
    vocab: Vocab
    model_config: ModelConfig
    train_config: TrainConfig | None
    train_state: TrainState
    init: str = "scratch"  # where the weights started: "scratch", "base" or a file name

    @property
    def state(self) -> TrainState:
        """The old name of :attr:`train_state`, kept as an alias."""
        return self.train_state


@renamed(state="train_state")
def to_bytes(
    model: CharLSTM,
    vocab: Vocab,
    train_config: TrainConfig | None = None,
    train_state: TrainState | None = None,
    include_optimizer: bool = True,
    init: str = "scratch",
) -> bytes:
    """Serialise a model (and, if given, its training state) to safetensors bytes."""
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if train_state is not None and include_optimizer:
        names = [name for name, _ in model.named_parameters()]
        for index, slots in train_state.optimizer.state_dict()["state"].items():
            for slot in _OPTIMIZER_SLOTS:
                value = torch.as_tensor(slots[slot], dtype=torch.float32).detach().cpu()
                tensors[f"optimizer.{names[index]}.{slot}"] = value.contiguous()
    counters = {"step": 0, "elapsed": 0.0, "chars_seen": 0, "lr_scale": 1.0, "history": []}
    if train_state is not None:
        counters = {k: getattr(train_state, k) for k in counters}
    metadata = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "vocab": vocab.to_json(),
        "model_config": json.dumps(to_dict(model.config)),
        "train_config": json.dumps(to_dict(train_config) if train_config else None),
        "training": json.dumps(counters),
        "init": init,
    }
    return save_tensors(tensors, metadata)


def save(path: str | Path, *args: Any, **kwargs: Any) -> Path:
    """Write :func:`to_bytes` to ``path`` atomically (a crash never leaves half a file)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(to_bytes(*args, **kwargs))
    tmp.replace(path)
    return path


def load(source: str | Path | bytes, device: torch.device | str = "cpu") -> Checkpoint:
    """Load and verify a checkpoint from a path or bytes; anything wrong raises :class:`CheckpointError`."""
    data = _read(source)
    header, metadata = _header(data)
    try:
        vocab = Vocab.from_json(metadata["vocab"])
        if not vocab.chars:
            raise VocabError("the vocabulary is empty: a model must know at least one character")
        model_config = from_dict(ModelConfig, _json(metadata, "model_config"))
        raw_train = _json(metadata, "train_config")
        train_config = from_dict(TrainConfig, raw_train) if raw_train is not None else None
        validate_for_model(model_config, train_config or TrainConfig(), vocab.size)
    except (VocabError, ConfigError) as e:
        raise CheckpointError(f"the checkpoint's description is invalid: {e}") from None
    model = CharLSTM(model_config, vocab.size)
    _check_shapes(header, model)
    try:
        tensors = load_tensors(data)
    except Exception as e:  # safetensors raises its own error types for malformed data
        raise CheckpointError(f"the tensor data is malformed: {e}") from None
    weights = {k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")}
    if not all(torch.isfinite(v).all() for v in weights.values()):
        raise CheckpointError("the weights hold NaN or infinite values")
    model.load_state_dict(weights)
    model.to(device).eval()
    _probe(model, vocab)
    train_state = new_train_state(model)
    _restore_training(train_state, model, tensors, _json(metadata, "training"))
    init = metadata.get("init", "scratch")  # files from before it was recorded started from scratch
    if not isinstance(init, str) or len(init) > 200:
        raise CheckpointError("the checkpoint's 'init' metadata is malformed")
    return Checkpoint(model, vocab, model_config, train_config, train_state, init)


PROBE_TEXT = "The quick brown fox jumps over the lazy dog.\n"


def _probe(model: CharLSTM, vocab: Vocab) -> None:
    """Finite weights can still overflow (±3e38 times anything is infinite): run a short text through the model,
    fused and through the readable cell that Learn and Inside show, and refuse it unless every prediction, gate
    and state is finite."""
    ids = torch.cat([vocab.encode(PROBE_TEXT).long(), torch.arange(vocab.size)])[None].to(model.device)
    with torch.no_grad():
        logits, (h, c) = model(ids)  # every id at least once
        readable = trace(model, ids[:, : len(PROBE_TEXT)])
    fused = (torch.log_softmax(logits, -1), h, c)
    shown = (torch.log_softmax(readable.logits, -1), *(getattr(readable, f.name) for f in fields(readable)))
    if not all(v.isfinite().all() for v in (*fused, *shown)):
        raise CheckpointError(
            "the model's predictions overflow to NaN or infinity on a test text: its weights are unusable"
        )


def _read(source: str | Path | bytes) -> bytes:
    if isinstance(source, bytes):
        data = source
    else:
        path = Path(source)
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise CheckpointError(f"{path.name} is {size:,} bytes; a checkpoint may be at most {MAX_FILE_BYTES:,}")
            data = path.read_bytes()
        except OSError as e:
            raise CheckpointError(f"cannot read {path}: {e.strerror or e}") from None
    if len(data) > MAX_FILE_BYTES:
        raise CheckpointError(f"the checkpoint is {len(data):,} bytes; the cap is {MAX_FILE_BYTES:,}")
    return data


def _header(data: bytes) -> tuple[dict[str, Any], dict[str, str]]:
    """Parse and check the safetensors header: every tensor inside the file, sized by its dtype and shape."""
    not_safetensors = "this is not a .safetensors checkpoint (no valid header)"
    if len(data) < 8:
        raise CheckpointError(f"{not_safetensors}: the file is too short")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER_BYTES or 8 + n > len(data):
        raise CheckpointError(f"{not_safetensors}: it declares a {n:,}-byte header in a {len(data):,}-byte file")
    try:
        header = json.loads(data[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise CheckpointError(f"{not_safetensors}: the header is not JSON") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{not_safetensors}: the header is not a JSON object")
    metadata = header.pop("__metadata__", None)
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise CheckpointError("this .safetensors file was not written by charlstm (no charlstm metadata)")
    if metadata.get("format_version") != str(FORMAT_VERSION):
        raise CheckpointError(
            f"checkpoint format version {metadata.get('format_version')!r} is not supported; "
            f"this charlstm reads version {FORMAT_VERSION}"
        )
    body = len(data) - 8 - n
    for name, info in header.items():
        try:
            dtype, shape, (start, end) = info["dtype"], info["shape"], info["data_offsets"]
            numel = 1
            for d in shape:
                if not isinstance(d, int) or d < 0:
                    raise TypeError
                numel *= d
        except (TypeError, KeyError, ValueError):
            raise CheckpointError(f"tensor {name!r} has a malformed header entry") from None
        if dtype not in _DTYPES:
            raise CheckpointError(f"tensor {name!r} has dtype {dtype}; charlstm checkpoints hold float32 only")
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= body):
            raise CheckpointError(f"tensor {name!r} points outside the file")
        if end - start != numel * _DTYPES[dtype]:
            raise CheckpointError(f"tensor {name!r} declares shape {shape} but holds {end - start:,} bytes")
    return header, metadata


def _json(metadata: dict[str, str], key: str) -> Any:
    try:
        return json.loads(metadata[key])
    except (KeyError, TypeError, ValueError):
        raise CheckpointError(f"the checkpoint's {key!r} metadata is missing or not valid JSON") from None


def _check_shapes(header: dict[str, Any], model: CharLSTM) -> None:
    expected = {f"model.{k}": list(v.shape) for k, v in model.state_dict().items()}
    for name, shape in expected.items():
        if name not in header:
            raise CheckpointError(f"the checkpoint lacks the tensor {name!r}")
        if header[name]["shape"] != shape:
            raise CheckpointError(f"tensor {name!r} has shape {header[name]['shape']}, but the config needs {shape}")
    params = {
        f"optimizer.{k}.{slot}": list(v.shape) if slot != "step" else []
        for k, v in model.named_parameters()
        for slot in _OPTIMIZER_SLOTS
    }
    for name in header:
        if name not in expected and name not in params:
            raise CheckpointError(f"the checkpoint holds an unexpected tensor {name!r}")
        if name in params and header[name]["shape"] != params[name]:
            raise CheckpointError(f"optimiser tensor {name!r} has the wrong shape {header[name]['shape']}")


# What a saved run's counters may hold: generous bounds that no real run reaches, so a hand-edited or hostile
# file cannot make Continue fail later (a step of 10^30 overflows the random generator's seed) or show "nan s".
MAX_STEP = 10**12
MAX_ELAPSED = 10.0**9  # seconds
MAX_CHARS_SEEN = 10**18


def _whole(value: Any, name: str, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
        raise CheckpointError(f"the checkpoint's training counter {name!r} must be a whole number from 0 to {high:g}")
    return value


def _real(value: Any, name: str, low: float, high: float, low_open: bool = False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not (low < value if low_open else low <= value) or value > high:
        bound = f"above {low:g}" if low_open else f"from {low:g}"
        raise CheckpointError(f"the checkpoint's training counter {name!r} must be a number {bound} to {high:g}")
    return float(value)


def _restore_training(train_state: TrainState, model: CharLSTM, tensors: dict, counters: Any) -> None:
    """Counters and Adam moments, every number checked: a poisoned value is refused here, not met mid-training."""
    if not isinstance(counters, dict) or not isinstance(counters.get("history"), list):
        raise CheckpointError("the checkpoint's training counters are malformed")
    train_state.step = _whole(counters.get("step"), "step", MAX_STEP)
    train_state.elapsed = _real(counters.get("elapsed"), "elapsed", 0.0, MAX_ELAPSED)
    train_state.chars_seen = _whole(counters.get("chars_seen"), "chars_seen", MAX_CHARS_SEEN)
    # the divergence guard only ever lowers the scale: above 1 or at 0 the file was not written by a run
    train_state.lr_scale = _real(counters.get("lr_scale"), "lr_scale", 0.0, 1.0, low_open=True)
    history = counters["history"][-HISTORY_LIMIT:]
    for h in history:
        if not isinstance(h, dict) or set(h) != {"step", "elapsed", "val_loss"}:
            raise CheckpointError("the checkpoint's loss history is malformed")
        _whole(h["step"], "history step", MAX_STEP)
        _real(h["elapsed"], "history elapsed", 0.0, MAX_ELAPSED)
        _real(h["val_loss"], "history val_loss", 0.0, 1e4)
    train_state.history = [dict(h) for h in history]
    slots = {}
    for index, (name, param) in enumerate(model.named_parameters()):
        keys = [f"optimizer.{name}.{slot}" for slot in _OPTIMIZER_SLOTS]
        if all(k in tensors for k in keys):
            exp_avg, exp_avg_sq, step = (tensors[k].to(param.device) for k in keys)
            # Adam divides by sqrt(exp_avg_sq): it must be finite and non-negative, and step a whole count
            if not (exp_avg.isfinite().all() and exp_avg_sq.isfinite().all() and (exp_avg_sq >= 0).all()):
                raise CheckpointError(f"the optimiser moments of {name!r} hold NaN, infinite or negative values")
            count = step.item()
            if not (0 <= count <= MAX_STEP and count == int(count)):
                raise CheckpointError(f"the optimiser step count of {name!r} must be a whole number up to {MAX_STEP:g}")
            slots[index] = {"exp_avg": exp_avg.view_as(param), "exp_avg_sq": exp_avg_sq.view_as(param), "step": step}
    if slots:
        saved = train_state.optimizer.state_dict()
        train_state.optimizer.load_state_dict({"state": slots, "param_groups": saved["param_groups"]})
